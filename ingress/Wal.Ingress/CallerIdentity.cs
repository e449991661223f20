using System.Runtime.CompilerServices;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace Wal.Ingress;

/// <summary>
/// Who is calling, as far as TLS can tell: the names of a client certificate that Kestrel
/// validated (subject CN and DNS subject alternative names). Anonymous without one.
/// </summary>
/// <param name="CommonNames">The subject's CNs: opaque names, matched against an allow-list exactly.</param>
/// <param name="DnsNames">The DNS subject alternative names, matched ignoring ASCII case (RFC 4343).</param>
/// <param name="HasCertificate">The caller presented a (validated) certificate, even one carrying no such name.</param>
public sealed record CallerIdentity(IReadOnlyList<string> CommonNames, IReadOnlyList<string> DnsNames, bool HasCertificate = false)
{
    private const string CommonName = "2.5.4.3";

    public static readonly CallerIdentity Anonymous = new([], []);

    /// <summary>The certificate's CNs and DNS names.</summary>
    public IReadOnlyList<string> Names => [.. CommonNames, .. DnsNames];

    /// <summary>The caller presented a certificate: refused, it is denied rather than asked to authenticate.</summary>
    public bool IsAuthenticated => HasCertificate || Names.Count > 0;

    /// <summary>The caller's names for a status message.</summary>
    public string Description => Names.Count > 0 ? string.Join("', '", Names) : "(a certificate with no CN and no DNS name)";

    // One identity per certificate instance, which Kestrel keeps for the connection's life: reading the names costs about
    // 1.5 us and 1.6 KB, on every unary call of a mutual-TLS connection before. Entries go with their certificates.
    private static readonly ConditionalWeakTable<X509Certificate2, CallerIdentity> Known = [];

    /// <summary>The caller of <paramref name="http"/>, read once per connection's certificate.</summary>
    public static CallerIdentity From(HttpContext http) =>
        // The feature itself, not http.Connection.ClientCertificate, which makes an empty one for every plaintext request.
        http.Features.Get<ITlsConnectionFeature>()?.ClientCertificate is { } certificate
            ? Known.GetValue(certificate, FromCertificate)
            : Anonymous;

    /// <summary>
    /// The subject's CN attributes and the DNS subject alternative names, nothing else. Not
    /// <c>GetNameInfo(SimpleName)</c>: without a CN that falls back to the OU, the O, an e-mail
    /// name, or whatever the subject's last attribute is (a locality, a serial number), so a
    /// certificate for a team or a site would pass for the client an allow-list names.
    /// </summary>
    public static CallerIdentity FromCertificate(X509Certificate2 certificate)
    {
        var commonNames = new List<string>();
        foreach (var rdn in certificate.SubjectName.EnumerateRelativeDistinguishedNames())
        {
            // A multi-valued RDN (CN+OU in one set) has no single type; its CN is not taken.
            if (!rdn.HasMultipleElements && rdn.GetSingleElementType().Value == CommonName
                && rdn.GetSingleElementValue() is { Length: > 0 } commonName)
            {
                commonNames.Add(commonName);
            }
        }

        var dnsNames = new List<string>();
        foreach (var extension in certificate.Extensions)
        {
            if (extension is X509SubjectAlternativeNameExtension san)
            {
                dnsNames.AddRange(san.EnumerateDnsNames());
            }
        }

        return new CallerIdentity(
            [.. commonNames.Distinct(StringComparer.Ordinal)],
            [.. dnsNames.Distinct(StringComparer.Ordinal)],
            HasCertificate: true);
    }

    /// <summary>
    /// True when the namespace admits any caller, or this caller has a name on its list. A DNS name matches an entry
    /// in any ASCII case, as DNS does (RFC 4343); a CN, which need not be a host name at all, only its exact spelling.
    /// Only ASCII letters fold: a DNS name is ASCII (an international one in its xn-- form), and Unicode folding
    /// would let an entry such as 'wr\u0131ter' (dotless i) admit 'writer'.
    /// </summary>
    /// <remarks>Indexed loops, no LINQ or enumerators: it runs for every write of a namespace with an allow-list.</remarks>
    public bool IsAllowed(IReadOnlyList<string> allowedClients)
    {
        if (allowedClients.Count == 0)
        {
            return true;
        }

        for (var i = 0; i < allowedClients.Count; i++)
        {
            var allowed = allowedClients[i];
            for (var c = 0; c < CommonNames.Count; c++)
            {
                if (string.Equals(CommonNames[c], allowed, StringComparison.Ordinal))
                {
                    return true;
                }
            }

            for (var d = 0; d < DnsNames.Count; d++)
            {
                if (Ascii.EqualsIgnoreCase(DnsNames[d], allowed))
                {
                    return true;
                }
            }
        }

        return false;
    }
}
