namespace GrantSilo;

/// <summary>
/// Validates agent workload ids. A SPIFFE id (<c>spiffe://trust-domain/path</c>) must be well formed:
/// a lower-case trust domain, a non-empty path of non-empty segments other than <c>.</c> and
/// <c>..</c>, and no query, fragment, port or user info. Other ids must be canonical identifiers.
/// </summary>
public static class WorkloadId
{
    /// <summary>
    /// The longest workload id a new agent may be registered with (ids up to 512 characters are still read and
    /// addressed). An agent's durable wake-up is a reminder whose Azure Tables row key holds its grain id
    /// (<c>agent/{id}-lifecycle</c>), and a key holds at most 1 KiB (512 UTF-16 characters): a longer id would be
    /// registered and then never woken after a restart.
    /// </summary>
    public const int MaxRegisteredLength = 480;

    /// <summary>Returns the canonical id, or a typed error saying what is wrong.</summary>
    public static GrantResult<string> Validate(string? id)
    {
        var canonical = Canonical.Identifier(id, "Agent workload id");
        if (!canonical.IsSuccess || !canonical.Value.StartsWith("spiffe://", StringComparison.OrdinalIgnoreCase))
        {
            return canonical;
        }
        var text = canonical.Value;
        if (!text.StartsWith("spiffe://", StringComparison.Ordinal))
        {
            return Invalid(text, "the scheme must be lower-case 'spiffe://'");
        }
        var rest = text["spiffe://".Length..];
        var slash = rest.IndexOf('/', StringComparison.Ordinal);
        if (slash <= 0 || slash == rest.Length - 1)
        {
            return Invalid(text, "it needs a trust domain and a path, as in spiffe://acme.dev/agent/planner");
        }
        var domain = rest[..slash];
        foreach (var c in domain)
        {
            if (c is not ((>= 'a' and <= 'z') or (>= '0' and <= '9') or '.' or '-' or '_'))
            {
                return Invalid(text, $"the trust domain '{Untrusted.Id(domain)}' may hold only a-z, 0-9, '.', '-' and '_'");
            }
        }
        foreach (var segment in rest[(slash + 1)..].Split('/'))
        {
            if (segment.Length == 0 || segment is "." or "..")
            {
                return Invalid(text, "path segments must be non-empty and not '.' or '..'");
            }
            foreach (var c in segment)
            {
                if (!(char.IsAsciiLetterOrDigit(c) || c is '.' or '-' or '_'))
                {
                    return Invalid(text, $"path segment '{Untrusted.Id(segment)}' may hold only letters, digits, '.', '-' and '_'");
                }
            }
        }
        return canonical;
    }

    private static GrantResult<string> Invalid(string id, string problem) =>
        GrantResult<string>.Fail(GrantErrorCode.InvalidIdentifier, $"Workload id '{Untrusted.Id(id)}' is not a valid SPIFFE id: {problem}.", target: Untrusted.Id(id));
}
