namespace GrantSilo.Identity;

/// <summary>
/// The caller names a trusted issuer is authoritative for. A name means the same caller whichever issuer vouched for
/// it (access rules, a task's person and orchestrator, an approver, roles bound by name compare names alone), so no
/// two issuers may be able to vouch for the same name:
/// <list type="bullet">
/// <item>a SPIFFE issuer: the SPIFFE IDs of its trust domain, <c>spiffe://&lt;TrustDomain&gt;/*</c>;</item>
/// <item>an OIDC issuer: its <see cref="TrustedIssuerOptions.Names"/>, or when it declares none every name of its
/// kind (<c>person:*</c> or <c>service:*</c>), which only the one OIDC issuer of that kind may have.</item>
/// </list>
/// The development issuer vouches for every name: it is outside this rule (it is for development only).
/// </summary>
internal static class IssuerNamespace
{
    public const string PersonPrefix = "person:";
    public const string ServicePrefix = "service:";

    /// <summary>What every name of a person or a service starts with.</summary>
    public static string PrefixOf(CallerKind kind) => kind == CallerKind.Service ? ServicePrefix : PersonPrefix;

    /// <summary>
    /// The issuer's names as patterns, and the problems of those it declares (each with the offending text). A pattern
    /// with a problem is left out, so a misconfigured issuer is narrower, never wider.
    /// </summary>
    public static List<NamePattern> Of(TrustedIssuerOptions issuer, List<string>? problems = null)
    {
        if (issuer.Kind == IssuerKind.Spiffe)
        {
            return issuer.TrustDomain is { } domain && SpiffeId.IsTrustDomainName(domain) ? [NamePattern.Everything($"spiffe://{domain}/")] : [];
        }

        var prefix = PrefixOf(issuer.CallerKind);
        if (issuer.Names.Count == 0)
        {
            return [NamePattern.Everything(prefix)];
        }

        var patterns = new List<NamePattern>(issuer.Names.Count);
        foreach (var text in issuer.Names)
        {
            if (NamePattern.TryParse(text, out var problem) is not { } pattern)
            {
                problems?.Add($"'{text}' {problem}");
            }
            else if (!pattern.Prefix.StartsWith(prefix, StringComparison.Ordinal))
            {
                problems?.Add($"'{text}' must start with '{prefix}' (the issuer's CallerKind is {issuer.CallerKind}; its callers are named {prefix}<name claim>), and its '{NamePattern.Wildcard}' must come after it");
            }
            else
            {
                patterns.Add(pattern);
            }
        }

        return patterns;
    }
}
