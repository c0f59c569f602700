namespace GrantSilo.Identity;

/// <summary>How callers' bearer tokens are verified; bound from <c>GrantSilo:Identity</c>.</summary>
public sealed class IdentityOptions
{
    /// <summary>The configuration section these options are bound from.</summary>
    public const string SectionName = "GrantSilo:Identity";

    /// <summary>The longest <see cref="ClockSkew"/> accepted.</summary>
    public static readonly TimeSpan MaxClockSkew = TimeSpan.FromMinutes(5);

    /// <summary>The <c>aud</c> every token must name.</summary>
    public string Audience { get; set; } = "grantsilo";

    /// <summary>How far <c>exp</c> and <c>nbf</c> may be off (both ways). At most 5 minutes.</summary>
    public TimeSpan ClockSkew { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How many verified callers are remembered (by SHA-256 of the token) until their tokens expire.</summary>
    public int CacheSize { get; set; } = 100_000;

    /// <summary>The issuers whose tokens are accepted.</summary>
    public List<TrustedIssuerOptions> Issuers { get; set; } = [];

    /// <summary>
    /// Roles given by configuration to SPIFFE workloads (an orchestrator, a gateway). A list, not a map,
    /// because a SPIFFE ID contains ':' which configuration keys use as their separator.
    /// </summary>
    public List<WorkloadRolesOptions> Workloads { get; set; } = [];

    /// <summary>Roles given by configuration to OIDC services (added to those in their tokens).</summary>
    public List<ServiceRolesOptions> Services { get; set; } = [];

    /// <summary>The development issuer (never in production).</summary>
    public DevelopmentIssuerOptions Development { get; set; } = new();
}

/// <summary>The kind of a trusted issuer.</summary>
public enum IssuerKind
{
    /// <summary>An OpenID Connect identity provider: persons or services.</summary>
    Oidc,

    /// <summary>A SPIFFE trust domain issuing JWT-SVIDs: agents.</summary>
    Spiffe,
}

/// <summary>One trusted issuer and where its keys are published.</summary>
public sealed class TrustedIssuerOptions
{
    /// <summary>The default signature algorithms: asymmetric only.</summary>
    public static readonly IReadOnlyList<string> DefaultAlgorithms = ["ES256", "ES384", "RS256", "PS256"];

    /// <summary>Every algorithm that may be configured (asymmetric only; never <c>none</c> or HMAC).</summary>
    public static readonly IReadOnlyList<string> SupportedAlgorithms = ["ES256", "ES384", "RS256", "RS384", "RS512", "PS256", "PS384", "PS512"];

    /// <summary>A short name, used as <see cref="Caller.Issuer"/> and in logs.</summary>
    public string Name { get; set; } = "";

    /// <summary>OIDC or SPIFFE.</summary>
    public IssuerKind Kind { get; set; } = IssuerKind.Oidc;

    /// <summary>OIDC: the exact <c>iss</c>. SPIFFE: an <c>iss</c> to require (optional; JWT-SVIDs need not carry one).</summary>
    public string? Issuer { get; set; }

    /// <summary>SPIFFE only: the trust domain, e.g. <c>acme.dev</c>; every <c>sub</c> must be a SPIFFE ID in it.</summary>
    public string? TrustDomain { get; set; }

    /// <summary>A JWKS file (re-read when it changes). Exactly one of this and <see cref="JwksUri"/>.</summary>
    public string? JwksFile { get; set; }

    /// <summary>A JWKS URL: https, or http on a 127.0.0.0/8 address (tests).</summary>
    public Uri? JwksUri { get; set; }

    /// <summary>How often the key set is re-read.</summary>
    public TimeSpan RefreshInterval { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>The least time between two refreshes caused by tokens naming unknown keys.</summary>
    public TimeSpan UnknownKidRefreshMinInterval { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Allowed signature algorithms; empty means <see cref="DefaultAlgorithms"/>.</summary>
    public List<string> Algorithms { get; set; } = [];

    /// <summary>OIDC only: whether its callers are persons or services.</summary>
    public CallerKind CallerKind { get; set; } = CallerKind.Person;

    /// <summary>OIDC only: the claim naming the caller (e.g. <c>email</c>).</summary>
    public string NameClaim { get; set; } = "sub";

    /// <summary>OIDC only: the claim holding roles (a string, space-separated, or an array of strings).</summary>
    public string RolesClaim { get; set; } = "roles";

    /// <summary>
    /// OIDC only: the caller names this issuer is authoritative for, as GrantSilo names (<c>person:&lt;name claim&gt;</c> or
    /// <c>service:&lt;name claim&gt;</c>): exact names, or patterns with one <c>*</c> standing for any run of characters,
    /// e.g. <c>person:*@acme.dev</c>. A token whose name falls outside them is refused
    /// (<see cref="AuthenticationFailure.NameOutsideIssuerNames"/>). Empty means every name of its kind, which only
    /// the one OIDC issuer of its <see cref="CallerKind"/> may have: no two issuers may be able to vouch for the
    /// same name, or the start is refused. SPIFFE issuers are authoritative for their <see cref="TrustDomain"/>.
    /// </summary>
    public List<string> Names { get; set; } = [];
}

/// <summary>Roles given by configuration to one SPIFFE workload.</summary>
public sealed class WorkloadRolesOptions
{
    /// <summary>The workload's SPIFFE ID, e.g. <c>spiffe://acme.dev/orchestrator</c>.</summary>
    public string SpiffeId { get; set; } = "";

    /// <summary>Its roles (lower-case).</summary>
    public List<string> Roles { get; set; } = [];
}

/// <summary>Roles given by configuration to one OIDC service.</summary>
public sealed class ServiceRolesOptions
{
    /// <summary>The <see cref="TrustedIssuerOptions.Name"/> of the issuer that vouches for it.</summary>
    public string Issuer { get; set; } = "";

    /// <summary>The service's name-claim value (without the <c>service:</c> prefix).</summary>
    public string Name { get; set; } = "";

    /// <summary>Its roles (lower-case).</summary>
    public List<string> Roles { get; set; } = [];
}

/// <summary>
/// A development issuer: an ES256 key made at start whose private half is written to <see cref="KeyFile"/>
/// so local tools can mint tokens with <see cref="DevelopmentTokens"/>. It vouches for agents in any trust
/// domain and for any person or service with any roles: never enable it in production.
/// </summary>
public sealed class DevelopmentIssuerOptions
{
    /// <summary>Whether the development issuer is active.</summary>
    public bool Enabled { get; set; }

    /// <summary>Allow it when the host environment is not Development (demos in containers, say).</summary>
    public bool AllowOutsideDevelopment { get; set; }

    /// <summary>
    /// Where the private JWK is written (mode 0600); default <c>&lt;temp&gt;/grantsilo-dev/dev-issuer.jwk</c>. Its directory is
    /// made 0700; on Unix one that exists must be the process's user's and not writable by others
    /// (<see cref="KeyFileRefusedException"/>).
    /// </summary>
    public string? KeyFile { get; set; }

    /// <summary>The <c>iss</c> of development tokens.</summary>
    public string Issuer { get; set; } = "grantsilo-development";

    /// <summary>The default key file path.</summary>
    public static string DefaultKeyFile => Path.Combine(Path.GetTempPath(), "grantsilo-dev", "dev-issuer.jwk");
}
