using System.CommandLine;
using System.Security.Cryptography;
using Wal.Client;

namespace Wal.Cli.Commands;

/// <summary>Options several commands share.</summary>
internal static class CommonOptions
{
    public static readonly Option<Uri> Address = new("--address")
    {
        Description = $"The ingress to talk to [env {Settings.WalEnvironment.Address}].",
        DefaultValueFactory = _ => new Uri(Settings.WalEnvironment.Get(Settings.WalEnvironment.Address) ?? "http://127.0.0.1:50051"),
        // System.CommandLine has no built-in Uri conversion.
        CustomParser = r =>
        {
            var text = r.Tokens.Count > 0 ? r.Tokens[0].Value : string.Empty;
            if (Uri.TryCreate(text, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https")
            {
                return uri;
            }

            r.AddError($"--address '{text}' is not an http:// or https:// address (e.g. http://127.0.0.1:50051).");
            return null;
        },
        Recursive = true,
    };

    public static readonly Option<OutputFormat> Output = new("--output", "-o")
    {
        Description = "text for people, json for scripts.",
        DefaultValueFactory = _ => OutputFormat.Text,
        Recursive = true,
    };

    public static readonly Option<FileInfo?> TlsCertificate = new("--tls-cert")
    {
        Description = "Client certificate (PEM) for an ingress with mutual TLS; with --tls-key.",
        Recursive = true,
    };

    public static readonly Option<FileInfo?> TlsKey = new("--tls-key")
    {
        Description = "Private key (PEM) of --tls-cert.",
        Recursive = true,
    };

    public static readonly Option<FileInfo?> TlsCa = new("--tls-ca")
    {
        Description = "CA certificate (PEM) the ingress's certificate must chain to, for a private CA (e.g. the one docker-compose makes).",
        Recursive = true,
    };

    /// <summary>The client options: --address and the TLS files.</summary>
    /// <exception cref="CliException">A TLS file is missing or not PEM, a certificate came without its key, or TLS files came with an http:// address.</exception>
    public static WalClientOptions Client(ParseResult parse)
    {
        var certificate = parse.GetValue(TlsCertificate);
        var key = parse.GetValue(TlsKey);
        var authority = parse.GetValue(TlsCa);
        try
        {
            var options = WalClientOptions.FromPemFiles(parse.GetValue(Address)!, certificate?.FullName, key?.FullName, authority?.FullName);
            // Here, not first in WalClient: a CA file with no certificate or an http:// address with TLS files is a usage error.
            options.Validate();
            return options;
        }
        catch (Exception e) when (e is ArgumentException or IOException or CryptographicException)
        {
            throw new CliException(ExitCodes.Usage, $"TLS files: {e.Message}",
                "Give --tls-cert and --tls-key together, each a readable PEM file, --tls-ca as the CA's PEM certificate (not its key), and an https:// --address with them.");
        }
    }
}
