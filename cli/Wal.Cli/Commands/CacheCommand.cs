using System.CommandLine;
using System.Text;
using System.Text.Json.Nodes;
using Wal.Sinks.Memcached;

namespace Wal.Cli.Commands;

/// <summary><c>wal cache get</c>: read a key as Wal's memcached sink wrote it (version header decoded).</summary>
internal static class CacheCommand
{
    public static Command Create()
    {
        var key = new Argument<string>("key") { Description = "The memcached key." };
        var server = new Option<string>("--server") { Description = "memcached host:port.", DefaultValueFactory = _ => "127.0.0.1:11311" };
        var get = new Command("get", "Print the value Wal delivered to a memcached key, with its version.") { key, server, CommonOptions.Output };
        get.SetAction(async (parse, cancellationToken) =>
        {
            // The invocation's writers, as every other command: tests run commands in parallel, and --output json is honoured.
            var terminal = new Terminal(parse.InvocationConfiguration.Output, parse.InvocationConfiguration.Error, parse.GetValue(CommonOptions.Output));
            var name = parse.GetValue(key)!;
            await using var client = new MemcachedClient(new MemcachedClientOptions { Servers = [parse.GetValue(server)!] });
            MemcachedItem? item;
            try
            {
                item = await client.GetAsync(name, cancellationToken);
            }
            catch (MemcachedException e)
            {
                await terminal.Error.WriteLineAsync($"error: cannot read from memcached at {parse.GetValue(server)}: {e.Message}. Is `wal up` running?");
                return ExitCodes.Failed;
            }

            if (item is null)
            {
                if (terminal.IsJson)
                {
                    terminal.WriteJson(new JsonObject { ["key"] = name, ["found"] = false });
                }
                else
                {
                    await terminal.Error.WriteLineAsync($"{name}: not found (not delivered yet, expired, or never written)");
                }

                return ExitCodes.NotDurable;
            }

            if (!VersionedValue.TryDecode(item.ClientFlags, item.Value, out var version, out var tombstone, out var payload))
            {
                var raw = Encoding.UTF8.GetString(item.Value);
                if (terminal.IsJson)
                {
                    terminal.WriteJson(new JsonObject { ["key"] = name, ["found"] = true, ["writtenByWal"] = false, ["value"] = raw });
                }
                else
                {
                    await terminal.Out.WriteLineAsync($"{name}: {raw}  (not written by Wal)");
                }

                return ExitCodes.Ok;
            }

            var value = Encoding.UTF8.GetString(payload.Span);
            if (terminal.IsJson)
            {
                terminal.WriteJson(new JsonObject
                {
                    ["key"] = name, ["found"] = true, ["writtenByWal"] = true, ["deleted"] = tombstone, ["version"] = version, ["value"] = tombstone ? null : value,
                });
            }
            else
            {
                await terminal.Out.WriteLineAsync(tombstone ? $"{name}: deleted at version {version}" : $"{name}: {value}  (version {version})");
            }

            return ExitCodes.Ok;
        });
        return new Command("cache", "Look at what Wal delivered to memcached.") { get };
    }
}
