using System.CommandLine;
using System.Text;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Wal.Client;
using Wal.Schemas.V1;

namespace Wal.Cli.Commands;

/// <summary><c>wal write</c>: one WriteToLog call from a shell.</summary>
internal static class WriteCommand
{
    public static Command Create()
    {
        var ns = new Argument<string>("namespace") { Description = "The namespace to write to." };
        var value = new Option<string?>("--value") { Description = "The payload, as UTF-8 text." };
        var valueFile = new Option<FileInfo>("--value-file") { Description = "Read the payload from this file (raw bytes)." };
        // A missing file is a bad command line (exit 2, naming it), found before anything is sent. The validator below asks
        // whether it was given (GetResult), since its value cannot be read once this check refused it.
        valueFile.AcceptExistingOnly();
        var memcachedKey = new Option<string?>("--memcached-key") { Description = "Target: set this key in the namespace's memcached cluster." };
        var cluster = new Option<string>("--memcached-cluster") { Description = "Target cluster for --memcached-key.", DefaultValueFactory = _ => "local" };
        var ttl = new Option<TimeSpan?>("--ttl") { Description = "Time to live of the memcached item (e.g. 10m).", CustomParser = r => DurationText.Parse(r) };
        var delay = new Option<TimeSpan?>("--delay") { Description = "Deliver after this delay (e.g. 30s, 5m).", CustomParser = r => DurationText.Parse(r) };
        var id = new Option<string?>("--id") { Description = "Idempotency id of the write (default: assigned by Wal)." };
        var command = new Command("write", "Write one payload to a namespace's log and print whether it is durable.")
        {
            ns, value, valueFile, memcachedKey, cluster, ttl, delay, id, CommonOptions.Address, CommonOptions.TlsCertificate, CommonOptions.TlsKey, CommonOptions.TlsCa, CommonOptions.Output,
        };
        command.Validators.Add(r =>
        {
            if ((r.GetValue(value) is null) == (r.GetResult(valueFile) is null))
            {
                r.AddError("Give the payload with exactly one of --value or --value-file.");
            }
        });
        command.SetAction(async (parse, cancellationToken) =>
        {
            var request = new WriteToLogRequest
            {
                Namespace = parse.GetValue(ns)!,
                Payload = parse.GetValue(valueFile) is { } file
                    ? ByteString.CopyFrom(await File.ReadAllBytesAsync(file.FullName, cancellationToken))
                    : ByteString.CopyFrom(parse.GetValue(value)!, Encoding.UTF8),
                Id = parse.GetValue(id) ?? string.Empty,
            };
            if (parse.GetValue(memcachedKey) is { } key)
            {
                request.Target = new Target
                {
                    Memcached = new MemcachedTarget
                    {
                        Cluster = parse.GetValue(cluster)!,
                        Key = key,
                        Ttl = parse.GetValue(ttl) is { } t ? Duration.FromTimeSpan(t) : null,
                    },
                };
            }

            if (parse.GetValue(delay) is { } d)
            {
                request.Lifecycle = new Lifecycle { Delay = Duration.FromTimeSpan(d) };
            }

            WalClientOptions options;
            try
            {
                options = CommonOptions.Client(parse);
            }
            catch (CliException e)
            {
                await parse.InvocationConfiguration.Error.WriteLineAsync($"error: {e.Message}\nnext: {e.NextStep}");
                return e.ExitCode;
            }

            using var client = new WalClient(options);
            var response = await client.WriteToLogAsync(request, cancellationToken);
            Output.Write(parse.InvocationConfiguration.Output, parse.GetValue(CommonOptions.Output), response, () => Describe(response));
            return response.Durable switch
            {
                Trilean.True => ExitCodes.Ok,
                Trilean.False => ExitCodes.NotDurable,
                _ => ExitCodes.Unknown,
            };
        });
        return command;
    }

    private static string Describe(WriteToLogResponse response) => response.Durable switch
    {
        Trilean.True => $"durable: TRUE  id={response.Id}{Terminal.Position(response)}",
        Trilean.False => $"durable: FALSE  {response.Message}\nNothing was written; fix the request and try again.",
        _ => $"durable: UNKNOWN  {response.Message}\nThe write may or may not be in the log; retry only with the same --id.",
    };
}
