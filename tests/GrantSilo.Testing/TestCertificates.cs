using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace GrantSilo.Testing.Tls;

/// <summary>
/// Development certificates made in-process (no openssl): a CA, a silo certificate (server and client
/// authentication; names localhost, silo, 127.0.0.1) and a client certificate, written as PEM (and the silo's also as
/// a password-protected PFX) and the audit log's keys into a folder, with the same file names <c>scripts/dev-certs.sh</c> uses.
/// <see cref="Shared"/> is made once per test run.
/// </summary>
public sealed class TestCertificates
{
    /// <summary>The password of <see cref="SiloPfx"/>.</summary>
    public const string PfxPassword = "grantsilo-test";

    private static readonly Lazy<TestCertificates> s_shared = new(() =>
    {
        var folder = Path.Combine(Path.GetTempPath(), $"grantsilo-test-certs-{Environment.ProcessId}-{Guid.NewGuid():N}");
        AppDomain.CurrentDomain.ProcessExit += (_, _) => Directory.Delete(folder, recursive: true);
        return Create(folder, "GrantSilo test CA");
    });

    private TestCertificates(string folder, X509Certificate2 authority) => (Folder, Authority) = (folder, authority);

    /// <summary>The certificates every test of this run shares.</summary>
    public static TestCertificates Shared => s_shared.Value;

    public string Folder { get; }

    /// <summary>The CA, with its private key, to issue further certificates in a test.</summary>
    public X509Certificate2 Authority { get; }

    public string Ca => Path.Combine(Folder, "ca.pem");

    public string SiloCertificate => Path.Combine(Folder, "silo.pem");

    public string SiloKey => Path.Combine(Folder, "silo.key");

    public string SiloPfx => Path.Combine(Folder, "silo.pfx");

    public string ClientCertificate => Path.Combine(Folder, "client.pem");

    public string ClientKey => Path.Combine(Folder, "client.key");

    /// <summary>The audit log's checkpoint signing key every silo of a multi-silo test shares (PKCS#8 PEM).</summary>
    public string AuditSigningKey => Path.Combine(Folder, "audit-signing-key.pem");

    /// <summary>The audit log's hash key every silo of a multi-silo test shares (32 random bytes, base64).</summary>
    public string AuditHashKey => Path.Combine(Folder, "audit-hash-key");

    /// <summary>Makes a CA named <paramref name="caName"/> and the certificates it signs in <paramref name="folder"/>.</summary>
    public static TestCertificates Create(string folder, string caName)
    {
        Directory.CreateDirectory(folder);
        var notBefore = DateTimeOffset.UtcNow.AddMinutes(-5);
        var notAfter = DateTimeOffset.UtcNow.AddDays(2);

        using var caKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var caRequest = new CertificateRequest($"CN={caName}", caKey, HashAlgorithmName.SHA256);
        caRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        caRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        caRequest.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(caRequest.PublicKey, false));
        var ca = caRequest.CreateSelfSigned(notBefore.AddDays(-7), notAfter.AddDays(1));
        var certificates = new TestCertificates(folder, ca);
        File.WriteAllText(certificates.Ca, ca.ExportCertificatePem());

        using (var silo = Issue(ca, "CN=grantsilo-silo", ["localhost", "silo"], [IPAddress.Loopback], [ServerAuthentication, ClientAuthentication], notBefore, notAfter))
        {
            File.WriteAllText(certificates.SiloCertificate, silo.ExportCertificatePem());
            File.WriteAllText(certificates.SiloKey, silo.GetECDsaPrivateKey()!.ExportPkcs8PrivateKeyPem());
            File.WriteAllBytes(certificates.SiloPfx, silo.Export(X509ContentType.Pkcs12, PfxPassword));
        }
        using (var client = Issue(ca, "CN=grantsilo-client", ["grantsilo-client"], [], [ClientAuthentication], notBefore, notAfter))
        {
            File.WriteAllText(certificates.ClientCertificate, client.ExportCertificatePem());
            File.WriteAllText(certificates.ClientKey, client.GetECDsaPrivateKey()!.ExportPkcs8PrivateKeyPem());
        }
        using (var auditKey = ECDsa.Create(ECCurve.NamedCurves.nistP256))
        {
            File.WriteAllText(certificates.AuditSigningKey, auditKey.ExportPkcs8PrivateKeyPem());
        }
        File.WriteAllText(certificates.AuditHashKey, Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)));
        return certificates;
    }

    /// <summary>A certificate signed by <paramref name="ca"/>, with its private key.</summary>
    public static X509Certificate2 Issue(X509Certificate2 ca, string subject, string[] dnsNames, IPAddress[] addresses, string[] usages, DateTimeOffset notBefore, DateTimeOffset notAfter)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest(subject, key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        var usageOids = new OidCollection();
        foreach (var usage in usages)
        {
            usageOids.Add(new Oid(usage));
        }
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension(usageOids, false));
        var names = new SubjectAlternativeNameBuilder();
        foreach (var name in dnsNames)
        {
            names.AddDnsName(name);
        }
        foreach (var address in addresses)
        {
            names.AddIpAddress(address);
        }
        request.CertificateExtensions.Add(names.Build());
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(ca, includeKeyIdentifier: true, includeIssuerAndSerial: false));
        var serial = RandomNumberGenerator.GetBytes(16);
        serial[0] &= 0x7F;
        using var issued = request.Create(ca, notBefore, notAfter, serial);
        return issued.CopyWithPrivateKey(key);
    }

    public const string ServerAuthentication = "1.3.6.1.5.5.7.3.1";

    public const string ClientAuthentication = "1.3.6.1.5.5.7.3.2";
}
