using System.CommandLine;
using System.Text;
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
            await using var client = new MemcachedClient(new MemcachedClientOptions { Servers = [parse.GetValue(server)!] });
            MemcachedItem? item;
            try
            {
                item = await client.GetAsync(parse.GetValue(key)!, cancellationToken);
            }
            catch (MemcachedException e)
            {
                await Console.Error.WriteLineAsync($"error: cannot read from memcached at {parse.GetValue(server)}: {e.Message}. Is `wal up` running?");
                return ExitCodes.Failed;
            }

            if (item is null)
            {
                await Console.Error.WriteLineAsync($"{parse.GetValue(key)}: not found (not delivered yet, expired, or never written)");
                return ExitCodes.NotDurable;
            }

            if (!VersionedValue.TryDecode(item.ClientFlags, item.Value, out var version, out var tombstone, out var payload))
            {
                Console.WriteLine($"{parse.GetValue(key)}: {Encoding.UTF8.GetString(item.Value)}  (not written by Wal)");
                return ExitCodes.Ok;
            }

            Console.WriteLine(tombstone
                ? $"{parse.GetValue(key)}: deleted at version {version}"
                : $"{parse.GetValue(key)}: {Encoding.UTF8.GetString(payload.Span)}  (version {version})");
            return ExitCodes.Ok;
        });
        return new Command("cache", "Look at what Wal delivered to memcached.") { get };
    }
}
