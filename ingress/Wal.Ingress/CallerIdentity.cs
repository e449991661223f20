using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Http;

namespace Wal.Ingress;

/// <summary>
/// Who is calling, as far as TLS can tell: the names of a client certificate that Kestrel
/// validated (subject CN and DNS subject alternative names). Anonymous without one.
/// </summary>
public sealed record CallerIdentity(IReadOnlyList<string> Names)
{
    public static readonly CallerIdentity Anonymous = new([]);

    public bool IsAuthenticated => Names.Count > 0;

    public static CallerIdentity From(HttpContext http) =>
        http.Connection.ClientCertificate is { } certificate ? FromCertificate(certificate) : Anonymous;

    public static CallerIdentity FromCertificate(X509Certificate2 certificate)
    {
        var names = new List<string>();
        var commonName = certificate.GetNameInfo(X509NameType.SimpleName, forIssuer: false);
        if (!string.IsNullOrEmpty(commonName))
        {
            names.Add(commonName);
        }

        foreach (var extension in certificate.Extensions)
        {
            if (extension is X509SubjectAlternativeNameExtension san)
            {
                names.AddRange(san.EnumerateDnsNames());
            }
        }

        return new CallerIdentity(names.Distinct(StringComparer.Ordinal).ToList());
    }

    /// <summary>True when the namespace admits any caller, or this caller has a name on its list.</summary>
    public bool IsAllowed(IReadOnlyCollection<string> allowedClients) =>
        allowedClients.Count == 0 || Names.Any(allowedClients.Contains);
}
