using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace GrantSilo.Tls;

/// <summary>
/// Decides whether a peer's certificate is acceptable: it chains to one of the configured CAs (custom root trust,
/// so nothing depends on the machine's trusted roots), allows every use its end puts it to (a silo's peer on a silo
/// link: server and client authentication, as every silo certificate must; so a client's certificate of the same CA
/// never opens a silo link), and carries an allowed name when names are listed.
/// </summary>
internal sealed class PeerCertificateValidator(X509Certificate2Collection authorities, IReadOnlyList<string> allowedNames, IReadOnlyList<string> usages, TimeProvider time)
{
    /// <summary>Null when <paramref name="certificate"/> is acceptable; otherwise why not.</summary>
    public string? Check(X509Certificate2 certificate, X509Chain? presented)
    {
        // The uses first, so a certificate of the CA meant for something else is named as such (the chain below would
        // fail on it too, as not valid for the usage).
        if (usages.FirstOrDefault(usage => !Permits(certificate, usage)) is { } missing)
        {
            return $"it is not meant for {(missing == GrantSiloTlsCredentials.ServerAuthentication ? "server" : "client")} authentication"
                + (usages.Count > 1 ? " (a silo's certificate must allow both server and client authentication)" : "");
        }
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.AddRange(authorities);
        // A private CA publishes no revocation lists; revoking a silo means replacing the CA or removing the silo's name.
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        foreach (var usage in usages)
        {
            chain.ChainPolicy.ApplicationPolicy.Add(new Oid(usage));
        }
        chain.ChainPolicy.VerificationTimeIgnored = false;
        chain.ChainPolicy.VerificationTime = time.GetUtcNow().UtcDateTime;
        if (presented is not null)
        {
            // Intermediates the peer sent along.
            foreach (var element in presented.ChainElements.Skip(1))
            {
                chain.ChainPolicy.ExtraStore.Add(element.Certificate);
            }
        }
        try
        {
            if (!chain.Build(certificate))
            {
                var statuses = chain.ChainStatus.Select(s => s.Status).Where(s => s != X509ChainStatusFlags.NoError).Distinct();
                return $"it does not chain to a trusted CA ({string.Join(", ", statuses)})";
            }
        }
        finally
        {
            foreach (var element in chain.ChainElements)
            {
                if (!ReferenceEquals(element.Certificate, certificate))
                {
                    element.Certificate.Dispose();
                }
            }
        }
        if (allowedNames.Count > 0 && !allowedNames.Any(name => Carries(certificate, name)))
        {
            return $"it carries none of the allowed names ({string.Join(", ", allowedNames)})";
        }
        return null;
    }

    /// <summary>
    /// Whether the certificate names <paramref name="name"/>: among its DNS names (a leading <c>*.</c> in the certificate
    /// matching one label), its IP addresses, or as its common name. Single-label names such as a compose service
    /// name count.
    /// </summary>
    public static bool Carries(X509Certificate2 certificate, string name)
    {
        var alternative = certificate.Extensions.OfType<X509SubjectAlternativeNameExtension>().FirstOrDefault();
        if (alternative is not null)
        {
            if (System.Net.IPAddress.TryParse(name, out var address) && alternative.EnumerateIPAddresses().Contains(address))
            {
                return true;
            }
            foreach (var dns in alternative.EnumerateDnsNames())
            {
                if (string.Equals(dns, name, StringComparison.OrdinalIgnoreCase)
                    || (dns.StartsWith("*.", StringComparison.Ordinal) && name.IndexOf('.', StringComparison.Ordinal) is > 0 and var dot && string.Equals(dns[1..], name[dot..], StringComparison.OrdinalIgnoreCase)))
                {
                    return true;
                }
            }
        }
        return string.Equals(certificate.GetNameInfo(X509NameType.SimpleName, forIssuer: false), name, StringComparison.OrdinalIgnoreCase);
    }

    /// <summary>Whether the certificate's extended key usages (when it has any) include <paramref name="oid"/>.</summary>
    public static bool Permits(X509Certificate2 certificate, string oid)
    {
        var usages = certificate.Extensions.OfType<X509EnhancedKeyUsageExtension>().FirstOrDefault();
        return usages is null || usages.EnhancedKeyUsages.Cast<Oid>().Any(u => u.Value == oid);
    }
}
