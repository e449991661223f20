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
        Assert.True(System.IO.File.Exists(OpenSsl), $"{OpenSsl} is missing: apt-get install openssl");
        Directory = Path.Combine(Path.GetTempPath(), $"wal-compose-certs-{Guid.NewGuid():N}");
        var start = new ProcessStartInfo("/bin/sh", [Script, Directory]) { RedirectStandardOutput = true, RedirectStandardError = true };
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEnd() + process.StandardError.ReadToEnd();
        Assert.True(process.WaitForExit(TimeSpan.FromSeconds(60)), "make-certs.sh did not finish in 60 s");
        Assert.True(process.ExitCode == 0, output);
    }

    public static string Script => Path.Combine(AppContext.BaseDirectory, "repo", "config", "tls", "make-certs.sh");

    public string Directory { get; }

    public string File(string name) => Path.Combine(Directory, name);

    public void Dispose() => System.IO.Directory.Delete(Directory, recursive: true);
}
