using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Https;

namespace Wal.Ingress;

/// <summary>TLS, and optionally mutual TLS against a private CA, on the gRPC endpoint.</summary>
internal static class TlsSetup
{
    public static void Apply(ListenOptions listen, IngressOptions options)
    {
        if (!options.UsesTls)
        {
            return;
        }

        var certificate = X509Certificate2.CreateFromPemFile(options.TlsCertificatePath, options.TlsKeyPath);
        if (options.ClientCaPath.Length == 0)
        {
            listen.UseHttps(certificate);
            return;
        }

        var authorities = new X509Certificate2Collection();
        authorities.ImportFromPemFile(options.ClientCaPath);
        listen.UseHttps(new HttpsConnectionAdapterOptions
        {
            ServerCertificate = certificate,
            ClientCertificateMode = options.RequireClientCertificate ? ClientCertificateMode.RequireCertificate : ClientCertificateMode.AllowCertificate,
            ClientCertificateValidation = (client, _, _) => ChainsTo(client, authorities),
        });
    }

    // Only the configured CA counts, not the machine's trust store: a certificate any public CA
    // issued must not pass for a Wal client. And only a certificate meant for clients: one CA often
    // issues servers' certificates too, and a server's (serverAuth only) must not pass for a client
    // whose name an allow-list holds. A certificate without extended key usage is good for any.
    private static bool ChainsTo(X509Certificate2 client, X509Certificate2Collection authorities)
    {
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.AddRange(authorities);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        chain.ChainPolicy.ApplicationPolicy.Add(new Oid(ClientAuthentication));
        return chain.Build(client);
    }

    private const string ClientAuthentication = "1.3.6.1.5.5.7.3.2";
}
