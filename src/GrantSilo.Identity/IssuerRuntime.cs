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
    string rolesClaim,
    IReadOnlyList<NamePattern>? names)
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

    /// <summary>
    /// The person or service names an OIDC issuer is authoritative for (<see cref="IssuerNamespace"/>); null for the
    /// development issuer, which vouches for every name, and unused for a SPIFFE issuer (its trust domain is checked).
    /// </summary>
    public IReadOnlyList<NamePattern>? Names { get; } = names;
}
