namespace GrantSilo.Identity;

/// <summary>What kind of party a verified caller is.</summary>
public enum CallerKind
{
    /// <summary>A workload holding a SPIFFE JWT-SVID; its name is its SPIFFE ID.</summary>
    Agent,

    /// <summary>A person signed in at an OIDC identity provider; its name is <c>person:&lt;name claim&gt;</c>.</summary>
    Person,

    /// <summary>A service signed in at an OIDC identity provider; its name is <c>service:&lt;name claim&gt;</c>.</summary>
    Service,
}

/// <summary>
/// A caller whose bearer token was verified. Immutable, and it never holds the token, so it may be
/// logged, cached and passed around freely.
/// </summary>
public sealed record Caller
{
    /// <summary>The <see cref="TrustedIssuerOptions.Name"/> of the issuer that vouched for the caller.</summary>
    public required string Issuer { get; init; }

    /// <summary>The token's <c>sub</c> claim.</summary>
    public required string Subject { get; init; }

    /// <summary>Agent, person or service.</summary>
    public required CallerKind Kind { get; init; }

    /// <summary>Agent: the SPIFFE ID; person: <c>person:&lt;name&gt;</c>; service: <c>service:&lt;name&gt;</c>.</summary>
    public required string Name { get; init; }

    /// <summary>Lower-case role names (from the token's roles claim or from configuration).</summary>
    public required IReadOnlySet<string> Roles { get; init; }

    /// <summary>When the token expires (its <c>exp</c>).</summary>
    public required DateTimeOffset ExpiresAt { get; init; }

    /// <summary>"Name via Issuer": safe for logs.</summary>
    public override string ToString() => $"{Name} via {Issuer}";
}
