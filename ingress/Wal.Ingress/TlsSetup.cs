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

        // The file's first certificate is the server's; any after it are the intermediates between it and the root,
        // which go out in the handshake. Sent alone, a certificate an intermediate CA issued fails every client that
        // trusts only the root, as clients configured with a CA file do.
        var certificate = X509Certificate2.CreateFromPemFile(options.TlsCertificatePath, options.TlsKeyPath);
        var chain = new X509Certificate2Collection();
        chain.ImportFromPemFile(options.TlsCertificatePath);
        var https = new HttpsConnectionAdapterOptions
        {
            ServerCertificate = certificate,
            ServerCertificateChain = [.. chain.Skip(1)],
        };
        if (options.ClientCaPath.Length > 0)
        {
            var authorities = new X509Certificate2Collection();
            authorities.ImportFromPemFile(options.ClientCaPath);
            https.ClientCertificateMode = options.RequireClientCertificate ? ClientCertificateMode.RequireCertificate : ClientCertificateMode.AllowCertificate;
            https.ClientCertificateValidation = (client, sent, _) => ChainsTo(client, sent, authorities);
        }

        listen.UseHttps(https);
    }

    // Only the configured CA counts, not the machine's trust store: a certificate any public CA
    // issued must not pass for a Wal client. And only a certificate meant for clients: one CA often
    // issues servers' certificates too, and a server's (serverAuth only) must not pass for a client
    // whose name an allow-list holds. A certificate without extended key usage is good for any.
    // The client's intermediates, if it sent any, are in the handshake's chain's extra store.
    private static bool ChainsTo(X509Certificate2 client, X509Chain? sent, X509Certificate2Collection authorities)
    {
        using var chain = new X509Chain();
        if (sent is not null)
        {
            chain.ChainPolicy.ExtraStore.AddRange(sent.ChainPolicy.ExtraStore);
        }

        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.AddRange(authorities);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        chain.ChainPolicy.ApplicationPolicy.Add(new Oid(ClientAuthentication));
        return chain.Build(client);
    }

    private const string ClientAuthentication = "1.3.6.1.5.5.7.3.2";
}
