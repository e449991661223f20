using System.CommandLine;
using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using Wal.Client;
using Wal.Namespaces;
using Wal.Schemas.V1;

namespace Wal.Cli.Commands;

/// <summary><c>wal namespaces list | get | apply | delete</c>: the NamespaceAdmin calls from a shell.</summary>
internal static class NamespacesCommand
{
    public static Command Create()
    {
        var command = new Command("namespaces", "List, show, create/update and delete namespace definitions (through the ingress).")
        {
            List(), Get(), Apply(), Delete(),
        };
        command.Options.Add(CommonOptions.Address);
        command.Options.Add(CommonOptions.Output);
        command.Options.Add(CommonOptions.TlsCertificate);
        command.Options.Add(CommonOptions.TlsKey);
        command.Options.Add(CommonOptions.TlsCa);
        return command;
    }

    private static WalClient Client(ParseResult parse) => new(CommonOptions.Client(parse));

    private static Command List()
    {
        var command = new Command("list", "List every namespace with its topic, partitions and personas.");
        command.SetGuardedAction(async (parse, terminal, cancellationToken) =>
        {
            using var client = Client(parse);
            var all = await client.ListNamespacesAsync(cancellationToken);
            var response = new ListNamespacesResponse { Namespaces = { all } };
            terminal.Write(response, () => Table(all));
            return ExitCodes.Ok;
        });
        return command;
    }

    private static Command Get()
    {
        var name = new Argument<string>("name") { Description = "The namespace." };
        var command = new Command("get", "Show one namespace's definition, with defaults applied, as JSON.") { name };
        command.SetGuardedAction(async (parse, terminal, cancellationToken) =>
        {
            using var client = Client(parse);
            var config = await client.GetNamespaceAsync(parse.GetValue(name)!, cancellationToken);
            terminal.Write(config, () => NamespaceSeedFile.Format([config]));
            return ExitCodes.Ok;
        });
        return command;
    }

    private static Command Apply()
    {
        var file = new Option<FileInfo>("--file", "-f")
        {
            Description = "A JSON file like config/namespaces.json: {\"namespaces\": [ ... ]}.",
            Required = true,
        };
        var command = new Command("apply", "Create each namespace in the file, or update it if it exists. Every definition is validated first; a refusal by the ingress stops at that namespace, after those before it.") { file };
        command.SetGuardedAction(async (parse, terminal, cancellationToken) =>
        {
            var path = parse.GetValue(file)!.FullName;
            var definitions = NamespaceSeedFile.Load(path);
            if (definitions.Count == 0)
            {
                throw new CliException(ExitCodes.Usage, $"'{path}' defines no namespaces.", "Put definitions under \"namespaces\": [ ... ] (see config/namespaces.json).");
            }

            // Validate all before changing any: a bad file changes nothing.
            _ = new NamespaceRegistry(definitions);
            using var client = Client(parse);
            var existing = (await client.ListNamespacesAsync(cancellationToken)).Select(n => n.Name).ToHashSet(StringComparer.Ordinal);
            var results = new JsonArray();
            foreach (var definition in definitions)
            {
                var created = !existing.Contains(definition.Name);
                var applied = created
                    ? await client.CreateNamespaceAsync(definition, cancellationToken)
                    : await client.UpdateNamespaceAsync(definition, cancellationToken);
                var action = created ? "created" : "updated";
                results.Add(new JsonObject { ["name"] = applied.Name, ["action"] = action, ["topic"] = applied.Topic });
                if (!terminal.IsJson)
                {
                    await terminal.Out.WriteLineAsync($"{action} {applied.Name} (topic {applied.Topic}, {applied.Partitions} partitions)");
                }
            }

            if (terminal.IsJson)
            {
                terminal.WriteJson(new JsonObject { ["applied"] = results });
            }

            return ExitCodes.Ok;
        });
        return command;
    }

    private static Command Delete()
    {
        var name = new Argument<string>("name") { Description = "The namespace." };
        var command = new Command("delete", "Remove a namespace's definition. Its topics and their records are kept.") { name };
        command.SetGuardedAction(async (parse, terminal, cancellationToken) =>
        {
            using var client = Client(parse);
            var target = parse.GetValue(name)!;
            await client.DeleteNamespaceAsync(target, cancellationToken);
            if (terminal.IsJson)
            {
                terminal.WriteJson(new JsonObject { ["deleted"] = target });
            }
            else
            {
                await terminal.Out.WriteLineAsync($"deleted {target} (its topics and records are kept)");
            }

            return ExitCodes.Ok;
        });
        return command;
    }

    private static string Table(IReadOnlyList<NamespaceConfig> all)
    {
        var text = new StringBuilder();
        text.AppendLine(CultureInfo.InvariantCulture, $"{"NAME",-24} {"TOPIC",-32} {"PARTITIONS",10}  PERSONAS");
        foreach (var ns in all)
        {
            text.AppendLine(CultureInfo.InvariantCulture, $"{ns.Name,-24} {ns.Topic,-32} {ns.Partitions,10}  {string.Join(",", ns.Personas)}");
        }

        text.Append(CultureInfo.InvariantCulture, $"{all.Count} namespace(s)");
        return text.ToString();
    }
}
