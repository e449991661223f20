using System.CommandLine;
using System.Text.Json.Nodes;
using Wal.Cli.Operations;
using Wal.Client;
using Wal.Schemas.V1;

namespace Wal.Cli.Commands;

/// <summary><c>wal mutate</c>: a multi-table mutation from a shell (WriteMutationChunk per chunk, then CompleteMutation).</summary>
internal static class MutateCommand
{
    public static Command Create()
    {
        var ns = new Argument<string>("namespace") { Description = "The namespace (one with the multi-table mutation persona, e.g. kv-mutations)." };
        var chunk = new Option<string[]>("--chunk", "-c")
        {
            Description = "A chunk, in order: 'table=T;key=K;value=V' (put) or 'table=T;key=K;delete'; add ';version=N' to set its version. "
                + "Repeat for each chunk. For a memcached namespace the table is the cache cluster (e.g. local).",
        };
        var file = new Option<FileInfo>("--file", "-f")
        {
            Description = "Read the chunks from a JSON file: {\"requestId\": \"optional\", \"chunks\": [{\"table\": \"local\", \"put\": {\"key\": \"u1\", \"value\": \"Ada\"}}, "
                + "{\"table\": \"local\", \"delete\": {\"key\": \"u2\"}}]}; a value may be a JSON object (sent as its JSON text).",
        };
        // Else reading it fails inside the guarded action, whose IOException reads as an ingress that cannot be reached. The
        // validator below asks whether it was given (GetResult), since its value cannot be read once this check refused it.
        file.AcceptExistingOnly();
        var requestId = new Option<string?>("--request-id")
        {
            Description = "The mutation's id (default: a new one). Resending with the same id is safe: chunks already stored are ignored.",
        };
        var version = new Option<long?>("--version")
        {
            Description = "Version of the first chunk that sets none, each later chunk one more (default: now, in microseconds since "
                + "the epoch), so a later chunk on the same key wins; sinks keep the newest version.",
        };
        var command = new Command(
            "mutate",
            "Send a multi-table mutation: each chunk durably to the log, then the completion marker. The topology applies the chunks "
            + "in order once all are there. Exit 0: the marker is durable; 3: a call was refused (nothing more was sent; fix and resend "
            + "with the same --request-id); 4: an outcome is unknown (resend with the same --request-id).")
        {
            ns, chunk, file, requestId, version, CommonOptions.Address, CommonOptions.TlsCertificate, CommonOptions.TlsKey, CommonOptions.TlsCa, CommonOptions.Output,
        };
        command.Validators.Add(r =>
        {
            if ((r.GetValue(chunk) is not { Length: > 0 }) == (r.GetResult(file) is null))
            {
                r.AddError("Give the chunks with --chunk (repeated) or with --file, not both.");
            }
        });
        command.SetGuardedAction(async (parse, terminal, cancellationToken) =>
        {
            var spec = parse.GetValue(file) is { } f ? MutationSpec.FromFile(f.FullName) : MutationSpec.FromOptions(parse.GetValue(chunk)!);
            var id = parse.GetValue(requestId) ?? spec.RequestId ?? Guid.CreateVersion7().ToString();
            var defaultVersion = parse.GetValue(version) ?? (TimeProvider.System.GetUtcNow().ToUnixTimeMilliseconds() * 1000);
            foreach (var c in spec.Chunks)
            {
                c.Namespace = parse.GetValue(ns)!;
                c.RequestId = id;
                // One more per chunk: a delete after a put of the same key must be newer to win.
                c.Version = c.Version == 0 ? defaultVersion + c.Sequence : c.Version;
            }

            using var client = new WalClient(CommonOptions.Client(parse));
            return await SendAsync(client, terminal, parse.GetValue(ns)!, id, spec.Chunks, cancellationToken);
        });
        return command;
    }

    private static async Task<int> SendAsync(WalClient client, Terminal terminal, string ns, string id, IReadOnlyList<MutationChunk> chunks, CancellationToken cancellationToken)
    {
        var progress = new Progress(terminal, "mutate", "chunks sent", done: null, quietIfQuick: true) { Total = chunks.Count };
        var sent = new JsonArray();
        foreach (var c in chunks)
        {
            var response = await client.WriteMutationChunkAsync(c, cancellationToken);
            sent.Add(Describe(response, $"chunk {c.Sequence}"));
            if (!terminal.IsJson)
            {
                await terminal.Out.WriteLineAsync(Line($"chunk {c.Sequence} ({(c.OperationCase == MutationChunk.OperationOneofCase.Put ? "put" : "delete")} {c.Table}/{(c.Put?.Key ?? c.Delete.Key).ToStringUtf8()})", response));
            }

            progress.Advance();
            if (response.Durable != Trilean.True)
            {
                progress.Finish();
                return Report(terminal, id, sent, null, response);
            }
        }

        progress.Finish();
        var marker = await client.CompleteMutationAsync(new MutationCompletion { Namespace = ns, RequestId = id, ChunkCount = (uint)chunks.Count }, cancellationToken);
        if (!terminal.IsJson)
        {
            await terminal.Out.WriteLineAsync(Line($"complete ({chunks.Count} chunk(s), request-id {id})", marker));
        }

        return Report(terminal, id, sent, Describe(marker, "complete"), marker);
    }

    private static int Report(Terminal terminal, string id, JsonArray chunks, JsonNode? completion, WriteToLogResponse last)
    {
        if (terminal.IsJson)
        {
            terminal.WriteJson(new JsonObject
            {
                ["requestId"] = id,
                // Protobuf's JSON name, as in each chunk's answer here and in wal write -o json: one spelling for scripts.
                ["durable"] = Terminal.ToJson(last)["durable"]?.DeepClone(),
                ["chunks"] = chunks,
                ["completion"] = completion,
            });
        }
        else if (last.Durable == Trilean.False)
        {
            terminal.Out.WriteLine(completion is null
                ? $"The completion marker was not sent, so nothing will be applied. Fix the problem and resend with --request-id {id}; chunks already stored are ignored."
                : $"The marker was refused; nothing will be applied. Fix the problem and resend with --request-id {id}.");
        }
        else if (last.Durable != Trilean.True)
        {
            terminal.Out.WriteLine($"It may or may not be in the log; resend with --request-id {id} (chunks and markers of one request id are applied once).");
        }

        return last.Durable switch
        {
            Trilean.True => ExitCodes.Ok,
            Trilean.False => ExitCodes.NotDurable,
            _ => ExitCodes.Unknown,
        };
    }

    private static JsonNode Describe(WriteToLogResponse response, string what)
    {
        var node = Terminal.ToJson(response);
        node["call"] = what;
        return node;
    }

    private static string Line(string what, WriteToLogResponse response) => response.Durable switch
    {
        Trilean.True => $"{what} durable: TRUE {Terminal.Position(response)}",
        Trilean.False => $"{what} durable: FALSE  {response.Message}",
        _ => $"{what} durable: UNKNOWN  {response.Message}",
    };
}
