using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Orleans.Connections.Security;

namespace GrantSilo.Tls;

/// <summary>
/// The certificates of one end of GrantSilo's TLS connections, loaded and checked once at start-up, and the Orleans
/// <see cref="TlsOptions"/> of each kind of link made from them. Every problem stops start-up with a message naming
/// the key to fix.
/// </summary>
public sealed class GrantSiloTlsCredentials
{
    internal const string ServerAuthentication = "1.3.6.1.5.5.7.3.1";
    internal const string ClientAuthentication = "1.3.6.1.5.5.7.3.2";

    // What every silo's certificate allows (it both accepts and opens silo links), and so what a silo link requires of its peer.
    private static readonly string[] SiloUsages = [ServerAuthentication, ClientAuthentication];

    private readonly TimeProvider _time;

    private GrantSiloTlsCredentials(GrantSiloTlsOptions options, string section, GrantSiloTlsRole role, X509Certificate2? certificate, X509Certificate2Collection authorities, TimeProvider time)
    {
        Options = options;
        Section = section;
        Role = role;
        Certificate = certificate;
        Authorities = authorities;
        _time = time;
    }

    /// <summary>The settings these were loaded from (a copy, without the password).</summary>
    public GrantSiloTlsOptions Options { get; }

    /// <summary>The configuration section the settings came from (for messages).</summary>
    public string Section { get; }

    /// <summary>Which end these credentials serve.</summary>
    public GrantSiloTlsRole Role { get; }

    /// <summary>The local certificate, with its private key (a client may have none).</summary>
    public X509Certificate2? Certificate { get; }

    /// <summary>The CA certificates peers must chain to.</summary>
    public X509Certificate2Collection Authorities { get; }

    /// <summary>
    /// Validates <paramref name="options"/> for <paramref name="role"/> and loads the certificate and the CA; throws
    /// <see cref="OptionsValidationException"/> naming the keys under <paramref name="section"/> when anything is missing,
    /// unreadable, expired, lacks its private key, is not meant for the use it is put to, or does not chain to the CA.
    /// </summary>
    public static GrantSiloTlsCredentials Load(GrantSiloTlsOptions options, string section, GrantSiloTlsRole role, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        time ??= TimeProvider.System;
        var errors = options.Validate(section, role).ToList();
        if (options.Enabled != true)
        {
            errors.Add($"TLS is off ({section}:Enabled is not true); there are no certificates to load.");
        }
        if (errors.Count > 0)
        {
            throw Invalid(section, errors);
        }

        var authorities = LoadAuthorities(options, section, errors);
        X509Certificate2? certificate = null;
        if (!string.IsNullOrWhiteSpace(options.CertificateFile))
        {
            certificate = LoadFromFile(options, section, errors);
        }
        else if (options.HasCertificate)
        {
            certificate = LoadFromStore(options, section, time, errors);
        }
        if (certificate is not null && authorities.Count > 0)
        {
            CheckLocal(certificate, options, section, role, authorities, time, errors);
        }
        if (errors.Count > 0)
        {
            certificate?.Dispose();
            throw Invalid(section, errors);
        }
        // A copy: changing the options object afterwards must not change what the links check.
        var snapshot = new GrantSiloTlsOptions
        {
            Enabled = options.Enabled,
            CertificateFile = options.CertificateFile,
            KeyFile = options.KeyFile,
            StoreName = options.StoreName,
            StoreLocation = options.StoreLocation,
            Thumbprint = options.Thumbprint,
            Subject = options.Subject,
            CaFile = options.CaFile,
            AllowedPeerNames = [.. options.AllowedPeerNames],
            RequireClientCertificate = options.RequireClientCertificate,
            AllowedClientNames = [.. options.AllowedClientNames],
            HandshakeTimeout = options.HandshakeTimeout,
        };
        return new GrantSiloTlsCredentials(snapshot, section, role, certificate, authorities, time);
    }

    /// <summary>
    /// A silo accepting a link from another silo: both present certificates, the other's must chain to the CA and allow
    /// both server and client authentication, as a silo's certificate must (a client's certificate of the same CA, which
    /// allows client authentication only, is refused: a client may use the gateway, never a silo link).
    /// </summary>
    public TlsOptions SiloInbound(IServiceProvider? services = null) => Tls(services, "silo link (inbound)", RemoteCertificateMode.RequireCertificate, SiloUsages, Options.AllowedPeerNames);

    /// <summary>A silo opening a link to another silo: it presents its certificate and checks the other's (a silo's: both uses).</summary>
    public TlsOptions SiloOutbound(IServiceProvider? services = null)
    {
        var tls = Tls(services, "silo link (outbound)", RemoteCertificateMode.RequireCertificate, SiloUsages, Options.AllowedPeerNames);
        tls.ClientCertificateMode = RemoteCertificateMode.RequireCertificate;
        return tls;
    }

    /// <summary>A silo's client gateway: TLS always; a client certificate required or merely checked when presented.</summary>
    public TlsOptions GatewayInbound(IServiceProvider? services = null) =>
        Tls(services, "client gateway", Options.RequireClientCertificate ? RemoteCertificateMode.RequireCertificate : RemoteCertificateMode.AllowCertificate, [ClientAuthentication], Options.AllowedClientNames);

    /// <summary>A client connecting to a gateway: it checks the silo's certificate and presents its own when it has one.</summary>
    public TlsOptions ClientToGateway(IServiceProvider? services = null)
    {
        var tls = Tls(services, "gateway connection", RemoteCertificateMode.RequireCertificate, [ServerAuthentication], Options.AllowedPeerNames);
        tls.ClientCertificateMode = Certificate is null ? RemoteCertificateMode.NoCertificate : RemoteCertificateMode.RequireCertificate;
        return tls;
    }

    /// <summary>One line saying what TLS this end uses, for the start-up log.</summary>
    public string Describe()
    {
        var local = Certificate is null ? "no certificate of its own" : $"certificate '{Certificate.Subject}' (thumbprint {Certificate.Thumbprint}, valid until {Certificate.NotAfter.ToUniversalTime():yyyy-MM-dd})";
        var peers = Options.AllowedPeerNames.Count == 0 ? "any name" : string.Join(", ", Options.AllowedPeerNames);
        return Role == GrantSiloTlsRole.Silo
            ? $"mutual TLS on silo links (peers: {peers}), TLS on the client gateway (client certificate {(Options.RequireClientCertificate ? "required" : "optional")}); {local}; peers must chain to {string.Join(", ", Authorities.Select(a => $"'{a.Subject}'"))}"
            : $"TLS to the gateway (silos: {peers}); {local}; silos must chain to {string.Join(", ", Authorities.Select(a => $"'{a.Subject}'"))}";
    }

    private TlsOptions Tls(IServiceProvider? services, string link, RemoteCertificateMode remote, IReadOnlyList<string> usages, IReadOnlyList<string> names)
    {
        var logger = (services?.GetService<ILoggerFactory>() ?? NullLoggerFactory.Instance).CreateLogger<GrantSiloTlsCredentials>();
        var validator = new PeerCertificateValidator(Authorities, names, usages, _time);
        return new TlsOptions
        {
            LocalCertificate = Certificate,
            RemoteCertificateMode = remote,
            HandshakeTimeout = Options.HandshakeTimeout,
            RemoteCertificateValidation = (certificate, presented, _) =>
            {
                // The platform's verdict (policy errors) is ignored on purpose: it judges by the machine's trusted
                // roots and the host name dialled, whereas peers here are trusted by chaining to the configured CA
                // and by the names they carry (silos are dialled by IP addresses no certificate needs to list).
                var refusal = validator.Check(certificate, presented);
                if (refusal is not null)
                {
                    Log.PeerRefused(logger, link, certificate.Subject, certificate.Thumbprint, refusal);
                }
                return refusal is null;
            },
        };
    }

    private static X509Certificate2Collection LoadAuthorities(GrantSiloTlsOptions options, string section, List<string> errors)
    {
        var authorities = new X509Certificate2Collection();
        var path = options.CaFile!;
        if (!File.Exists(path))
        {
            errors.Add($"{section}:CaFile '{path}' does not exist. For development, run scripts/dev-certs.sh, which writes ca.pem.");
            return authorities;
        }
        try
        {
            authorities.ImportFromPemFile(path);
            if (authorities.Count == 0)
            {
                authorities.Add(X509CertificateLoader.LoadCertificateFromFile(path));
            }
        }
        catch (CryptographicException e)
        {
            errors.Add($"{section}:CaFile '{path}' holds no readable certificate ({e.Message}); give the CA certificate in PEM.");
        }
        return authorities;
    }

    private static X509Certificate2? LoadFromFile(GrantSiloTlsOptions options, string section, List<string> errors)
    {
        var path = options.CertificateFile!;
        if (!File.Exists(path))
        {
            errors.Add($"{section}:CertificateFile '{path}' does not exist. For development, run scripts/dev-certs.sh and set the variables it prints.");
            return null;
        }
        if (!string.IsNullOrWhiteSpace(options.KeyFile) && !File.Exists(options.KeyFile))
        {
            errors.Add($"{section}:KeyFile '{options.KeyFile}' does not exist.");
            return null;
        }
        try
        {
            var extension = Path.GetExtension(path).ToLowerInvariant();
            if (extension is ".pfx" or ".p12")
            {
                return X509CertificateLoader.LoadPkcs12FromFile(path, options.CertificatePassword);
            }
            var key = string.IsNullOrWhiteSpace(options.KeyFile) ? null : options.KeyFile;
            using var pem = string.IsNullOrEmpty(options.CertificatePassword)
                ? X509Certificate2.CreateFromPemFile(path, key)
                : X509Certificate2.CreateFromEncryptedPemFile(path, options.CertificatePassword, key);
            // A key read from PEM is ephemeral, which TLS on Windows cannot use; a PKCS#12 round trip works everywhere.
            return X509CertificateLoader.LoadPkcs12(pem.Export(X509ContentType.Pkcs12), null);
        }
        catch (CryptographicException e)
        {
            errors.Add($"{section}:CertificateFile '{path}' could not be read ({e.Message}). A .pfx/.p12 needs {section}:CertificatePassword when it has one; " +
                $"a PEM certificate needs its private key, in the same file or in {section}:KeyFile.");
            return null;
        }
    }

    private static X509Certificate2? LoadFromStore(GrantSiloTlsOptions options, string section, TimeProvider time, List<string> errors)
    {
        var (by, value, key) = string.IsNullOrWhiteSpace(options.Thumbprint)
            ? (X509FindType.FindBySubjectName, options.Subject!, "Subject")
            : (X509FindType.FindByThumbprint, options.Thumbprint.Replace(" ", "", StringComparison.Ordinal), "Thumbprint");
        using var store = new X509Store(options.StoreName, options.StoreLocation);
        try
        {
            store.Open(OpenFlags.ReadOnly | OpenFlags.OpenExistingOnly);
        }
        catch (CryptographicException e)
        {
            errors.Add($"{section}: the certificate store {options.StoreLocation}/{options.StoreName} could not be opened ({e.Message}); check {section}:StoreName and {section}:StoreLocation.");
            return null;
        }
        var found = store.Certificates.Find(by, value, validOnly: false);
        var now = time.GetUtcNow().UtcDateTime;
        var chosen = found.Where(c => c.HasPrivateKey && c.NotBefore.ToUniversalTime() <= now && c.NotAfter.ToUniversalTime() > now).OrderByDescending(c => c.NotAfter).FirstOrDefault();
        foreach (var other in found.Where(c => !ReferenceEquals(c, chosen)))
        {
            other.Dispose();
        }
        foreach (var stored in store.Certificates)
        {
            stored.Dispose();
        }
        if (chosen is null)
        {
            errors.Add(found.Count == 0
                ? $"{section}:{key} '{value}' matches no certificate in {options.StoreLocation}/{options.StoreName}."
                : $"{section}:{key} '{value}' matches {found.Count} certificate(s) in {options.StoreLocation}/{options.StoreName}, but none is currently valid with a private key this process can use.");
        }
        return chosen;
    }

    private static void CheckLocal(X509Certificate2 certificate, GrantSiloTlsOptions options, string section, GrantSiloTlsRole role, X509Certificate2Collection authorities, TimeProvider time, List<string> errors)
    {
        var where = string.IsNullOrWhiteSpace(options.CertificateFile) ? $"{section}:{(string.IsNullOrWhiteSpace(options.Thumbprint) ? "Subject" : "Thumbprint")}" : $"{section}:CertificateFile";
        var now = time.GetUtcNow().UtcDateTime;
        if (!certificate.HasPrivateKey)
        {
            errors.Add($"The certificate of {where} ('{certificate.Subject}') has no private key; give the key ({section}:KeyFile for a PEM, or a .pfx holding it).");
        }
        if (certificate.NotAfter.ToUniversalTime() <= now || certificate.NotBefore.ToUniversalTime() > now)
        {
            errors.Add($"The certificate of {where} ('{certificate.Subject}') is valid only from {certificate.NotBefore.ToUniversalTime():u} to {certificate.NotAfter.ToUniversalTime():u}; renew it (for development: scripts/dev-certs.sh --force).");
        }
        var uses = role == GrantSiloTlsRole.Silo ? new[] { ServerAuthentication, ClientAuthentication } : [ClientAuthentication];
        if (!uses.All(u => PeerCertificateValidator.Permits(certificate, u)))
        {
            errors.Add(role == GrantSiloTlsRole.Silo
                ? $"The certificate of {where} ('{certificate.Subject}') must allow both server and client authentication (extended key usages 1.3.6.1.5.5.7.3.1 and .2): a silo both accepts and opens silo links."
                : $"The certificate of {where} ('{certificate.Subject}') must allow client authentication (extended key usage 1.3.6.1.5.5.7.3.2).");
        }
        // Silos trust each other through the one CA file, so a silo's own certificate must chain to it. A client's need
        // not: its CaFile names the silos' CA, and the gateway judges the client's certificate by the silos' settings.
        var refusal = role == GrantSiloTlsRole.Silo ? new PeerCertificateValidator(authorities, [], [ServerAuthentication], time).Check(certificate, null) : null;
        if (refusal is not null)
        {
            errors.Add($"The certificate of {where} ('{certificate.Subject}') would be refused by its peers: {refusal}. It must be signed by the CA in {section}:CaFile.");
        }
    }

    private static OptionsValidationException Invalid(string section, IEnumerable<string> errors) =>
        new(section, typeof(GrantSiloTlsOptions), errors);
}
