using System.Diagnostics;

namespace Wal.Cli.Tests.Tls;

/// <summary>
/// The certificates docker-compose's one-shot "certs" service makes, made here by running the same
/// script (config/tls/make-certs.sh) with the machine's openssl into a temporary directory.
/// </summary>
public sealed class ComposeCertificates : IDisposable
{
    public const string ClientName = "demo-client";
    private const string OpenSsl = "/usr/bin/openssl";

    public ComposeCertificates()
    {
        Directory = Path.Combine(Path.GetTempPath(), $"wal-compose-certs-{Guid.NewGuid():N}");
        Run(Directory);
    }

    /// <summary>Runs the script into <paramref name="directory"/>, the CA's key into <paramref name="keyDirectory"/> when given; its output.</summary>
    public static string Run(string directory, string? keyDirectory = null, int? days = null)
    {
        Assert.True(System.IO.File.Exists(OpenSsl), $"{OpenSsl} is missing: apt-get install openssl");
        var start = new ProcessStartInfo("/bin/sh", keyDirectory is null ? [Script, directory] : [Script, directory, keyDirectory])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        if (days is { } d)
        {
            start.Environment["WAL_TLS_DAYS"] = d.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }

        using var process = Process.Start(start)!;
        var errors = process.StandardError.ReadToEndAsync();
        var output = process.StandardOutput.ReadToEnd() + errors.Result;
        Assert.True(process.WaitForExit(TimeSpan.FromSeconds(60)), "make-certs.sh did not finish in 60 s");
        Assert.True(process.ExitCode == 0, output);
        return output;
    }

    public static string Script => Path.Combine(AppContext.BaseDirectory, "repo", "config", "tls", "make-certs.sh");

    public string Directory { get; }

    public string File(string name) => Path.Combine(Directory, name);

    public void Dispose() => System.IO.Directory.Delete(Directory, recursive: true);
}
