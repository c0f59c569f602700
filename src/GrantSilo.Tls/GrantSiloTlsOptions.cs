using System.Security.Cryptography.X509Certificates;

namespace GrantSilo.Tls;

/// <summary>Which end of an Orleans connection a set of <see cref="GrantSiloTlsOptions"/> configures.</summary>
public enum GrantSiloTlsRole
{
    /// <summary>A silo: mutual TLS on silo-to-silo links, TLS on its client gateway.</summary>
    Silo,

    /// <summary>A client: TLS to the gateway, optionally presenting a client certificate.</summary>
    Client,
}

/// <summary>
/// TLS on Orleans connections. Bound from <c>GrantSilo:Tls</c> on a silo and <c>GrantSilo:Client:Tls</c> on a
/// client. The local certificate comes from a file (<see cref="CertificateFile"/>) or from the certificate store
/// (<see cref="Thumbprint"/> or <see cref="Subject"/>); a peer is trusted only if its certificate chains to a CA in
/// <see cref="CaFile"/> (no machine-wide trust is used) and, when listed, carries one of the allowed names.
/// </summary>
public sealed class GrantSiloTlsOptions
{
    /// <summary>The silo's section.</summary>
    public const string SiloSectionName = "GrantSilo:Tls";

    /// <summary>The client's section.</summary>
    public const string ClientSectionName = "GrantSilo:Client:Tls";

    /// <summary>
    /// Whether connections use TLS. Unset means the profile's default: on for the multi-silo (AzureTable) profile and
    /// its clients, off for the embedded default and <c>AddGrantSiloClient</c>/<c>AddGrantSiloLocalClient</c>.
    /// </summary>
    public bool? Enabled { get; set; }

    /// <summary>The local certificate: a PKCS#12 file (<c>.pfx</c>, <c>.p12</c>) or a PEM certificate (with <see cref="KeyFile"/>, or with the key in the same file).</summary>
    public string? CertificateFile { get; set; }

    /// <summary>The PEM private key of a PEM <see cref="CertificateFile"/>, when it is not in the certificate file itself.</summary>
    public string? KeyFile { get; set; }

    /// <summary>The password of a PKCS#12 file or of an encrypted PEM key.</summary>
    public string? CertificatePassword { get; set; }

    /// <summary>The certificate store to search when the certificate is named by <see cref="Thumbprint"/> or <see cref="Subject"/>.</summary>
    public StoreName StoreName { get; set; } = StoreName.My;

    /// <summary>The location of <see cref="StoreName"/>.</summary>
    public StoreLocation StoreLocation { get; set; } = StoreLocation.CurrentUser;

    /// <summary>The thumbprint (SHA-1, hex) of the local certificate in the store.</summary>
    public string? Thumbprint { get; set; }

    /// <summary>The subject name of the local certificate in the store (the newest valid one with a private key is used).</summary>
    public string? Subject { get; set; }

    /// <summary>
    /// PEM file with the certificate(s) of the CA that signs the peers' certificates. Peers must chain to it; the
    /// machine's trusted roots play no part.
    /// </summary>
    public string? CaFile { get; set; }

    /// <summary>
    /// Names (DNS names, IP addresses or common names, wildcards allowed in certificates) of which the other end's
    /// certificate must carry one: on a silo, the other silos'; on a client, the silos'. Empty: any certificate
    /// chaining to <see cref="CaFile"/>, which the silo host refuses outside Development unless
    /// <see cref="AllowAnyPeerName"/> is set.
    /// </summary>
    public List<string> AllowedPeerNames { get; set; } = [];

    /// <summary>
    /// Silo only: start outside Development with <see cref="AllowedPeerNames"/> empty, so that any certificate of the
    /// CA may join the cluster as a silo. Only for a CA that issues certificates to this cluster's silos and nothing else.
    /// </summary>
    public bool AllowAnyPeerName { get; set; }

    /// <summary>Silo only: whether clients must present a certificate chaining to <see cref="CaFile"/> at the gateway (default: they may, and one they present is checked).</summary>
    public bool RequireClientCertificate { get; set; }

    /// <summary>Silo only: names of which a client's certificate must carry one (empty: any chaining to <see cref="CaFile"/>).</summary>
    public List<string> AllowedClientNames { get; set; } = [];

    /// <summary>How long a TLS handshake may take.</summary>
    public TimeSpan HandshakeTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Whether a local certificate is configured (from a file or the store).</summary>
    public bool HasCertificate => !string.IsNullOrWhiteSpace(CertificateFile) || !string.IsNullOrWhiteSpace(Thumbprint) || !string.IsNullOrWhiteSpace(Subject);

    /// <summary>
    /// The problems with these settings for <paramref name="role"/>, each naming the keys under
    /// <paramref name="section"/> and how to fix it; empty when TLS is off or the settings are usable.
    /// Files are checked when loaded (<see cref="GrantSiloTlsCredentials.Load"/>).
    /// </summary>
    public IReadOnlyList<string> Validate(string section, GrantSiloTlsRole role)
    {
        var errors = new List<string>();
        if (Enabled != true)
        {
            return errors;
        }
        var fromFile = !string.IsNullOrWhiteSpace(CertificateFile);
        var fromStore = !string.IsNullOrWhiteSpace(Thumbprint) || !string.IsNullOrWhiteSpace(Subject);
        if (role == GrantSiloTlsRole.Silo && !fromFile && !fromStore)
        {
            errors.Add($"TLS is on ({section}) but no certificate of this silo is given: set {section}:CertificateFile (a .pfx, or a PEM with {section}:KeyFile), " +
                $"or {section}:Thumbprint or {section}:Subject to take it from the certificate store ({section}:StoreName, {section}:StoreLocation). " +
                "For development, run scripts/dev-certs.sh and set the variables it prints.");
        }
        if (fromFile && fromStore)
        {
            errors.Add($"{section}: give the certificate either as a file ({section}:CertificateFile) or from the store ({section}:Thumbprint / {section}:Subject), not both.");
        }
        if (!string.IsNullOrWhiteSpace(Thumbprint) && !string.IsNullOrWhiteSpace(Subject))
        {
            errors.Add($"{section}: name the certificate in the store by {section}:Thumbprint or by {section}:Subject, not both.");
        }
        if (!fromFile && (!string.IsNullOrWhiteSpace(KeyFile) || !string.IsNullOrWhiteSpace(CertificatePassword)))
        {
            errors.Add($"{section}:KeyFile and {section}:CertificatePassword belong to {section}:CertificateFile, which is not set.");
        }
        if (string.IsNullOrWhiteSpace(CaFile))
        {
            errors.Add($"TLS is on ({section}) but {section}:CaFile is not set: give the PEM file of the CA that signs the {(role == GrantSiloTlsRole.Silo ? "silos' (and clients')" : "silos'")} certificates; " +
                "peers are trusted only if they chain to it. For development, run scripts/dev-certs.sh and set the variables it prints.");
        }
        if (role == GrantSiloTlsRole.Client && (RequireClientCertificate || AllowedClientNames.Count > 0))
        {
            errors.Add($"{section}:RequireClientCertificate and {section}:AllowedClientNames are silo settings (GrantSilo:Tls); a client presents its certificate with {section}:CertificateFile or the store keys.");
        }
        if (HandshakeTimeout <= TimeSpan.Zero)
        {
            errors.Add($"{section}:HandshakeTimeout must be positive (for example 00:00:10).");
        }
        if (AllowedPeerNames.Any(string.IsNullOrWhiteSpace) || AllowedClientNames.Any(string.IsNullOrWhiteSpace))
        {
            errors.Add($"{section}:AllowedPeerNames and {section}:AllowedClientNames may not contain empty names.");
        }
        return errors;
    }
}
