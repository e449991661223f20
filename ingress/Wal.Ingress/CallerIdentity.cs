using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Http;

namespace Wal.Ingress;

/// <summary>
/// Who is calling, as far as TLS can tell: the names of a client certificate that Kestrel
/// validated (subject CN and DNS subject alternative names). Anonymous without one.
/// </summary>
/// <param name="Names">The certificate's CNs and DNS names: what an allow-list is matched against.</param>
/// <param name="HasCertificate">The caller presented a (validated) certificate, even one carrying no such name.</param>
public sealed record CallerIdentity(IReadOnlyList<string> Names, bool HasCertificate = false)
{
    private const string CommonName = "2.5.4.3";

    public static readonly CallerIdentity Anonymous = new([]);

    /// <summary>The caller presented a certificate: refused, it is denied rather than asked to authenticate.</summary>
    public bool IsAuthenticated => HasCertificate || Names.Count > 0;

    /// <summary>The caller's names for a status message.</summary>
    public string Description => Names.Count > 0 ? string.Join("', '", Names) : "(a certificate with no CN and no DNS name)";

    public static CallerIdentity From(HttpContext http) =>
        http.Connection.ClientCertificate is { } certificate ? FromCertificate(certificate) : Anonymous;

    /// <summary>
    /// The subject's CN attributes and the DNS subject alternative names, nothing else. Not
    /// <c>GetNameInfo(SimpleName)</c>: without a CN that falls back to the OU, the O, an e-mail
    /// name, or whatever the subject's last attribute is (a locality, a serial number), so a
    /// certificate for a team or a site would pass for the client an allow-list names.
    /// </summary>
    public static CallerIdentity FromCertificate(X509Certificate2 certificate)
    {
        var names = new List<string>();
        foreach (var rdn in certificate.SubjectName.EnumerateRelativeDistinguishedNames())
        {
            // A multi-valued RDN (CN+OU in one set) has no single type; its CN is not taken.
            if (!rdn.HasMultipleElements && rdn.GetSingleElementType().Value == CommonName
                && rdn.GetSingleElementValue() is { Length: > 0 } commonName)
            {
                names.Add(commonName);
            }
        }

        foreach (var extension in certificate.Extensions)
        {
            if (extension is X509SubjectAlternativeNameExtension san)
            {
                names.AddRange(san.EnumerateDnsNames());
            }
        }

        return new CallerIdentity(names.Distinct(StringComparer.Ordinal).ToList(), HasCertificate: true);
    }

    /// <summary>True when the namespace admits any caller, or this caller has a name on its list.</summary>
    public bool IsAllowed(IReadOnlyCollection<string> allowedClients) =>
        allowedClients.Count == 0 || Names.Any(allowedClients.Contains);
}
