using GrantSilo.Identity.Keys;

namespace GrantSilo.Identity;

/// <summary>How an issuer's tokens are turned into callers.</summary>
internal enum IssuerType
{
    Oidc,
    Spiffe,
    Development,
}

/// <summary>One trusted issuer as configured, with its live key source.</summary>
internal sealed class IssuerRuntime(
    string name,
    IssuerType type,
    string? requiredIssuer,
    string? trustDomain,
    JwksSource keys,
    IReadOnlySet<string> algorithms,
    CallerKind oidcCallerKind,
    string nameClaim,
    string rolesClaim)
{
    public string Name { get; } = name;

    public IssuerType Type { get; } = type;

    /// <summary>The exact <c>iss</c> required, or null (a SPIFFE issuer configured without one).</summary>
    public string? RequiredIssuer { get; } = requiredIssuer;

    public string? TrustDomain { get; } = trustDomain;

    public JwksSource Keys { get; } = keys;

    public IReadOnlySet<string> Algorithms { get; } = algorithms;

    public string[] AlgorithmList { get; } = [.. algorithms];

    public CallerKind OidcCallerKind { get; } = oidcCallerKind;

    public string NameClaim { get; } = nameClaim;

    public string RolesClaim { get; } = rolesClaim;
}
