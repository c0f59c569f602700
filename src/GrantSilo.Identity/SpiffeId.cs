namespace GrantSilo.Identity;

/// <summary>
/// SPIFFE ID syntax (SPIFFE-ID standard, section 2): <c>spiffe://&lt;trust domain&gt;/&lt;path&gt;</c>, the trust
/// domain lower-case letters, digits, '.', '-' and '_'; path segments non-empty, of letters, digits, '.', '-'
/// and '_', never '.' or '..'; no query, fragment, port or user info. A JWT-SVID names a workload, so the
/// path must not be empty.
/// </summary>
internal static class SpiffeId
{
    private const string Scheme = "spiffe://";
    private const int MaxLength = 2048;

    /// <summary>Parses a workload SPIFFE ID and returns its trust domain.</summary>
    public static bool TryParseWorkloadId(string? text, out string trustDomain)
    {
        trustDomain = "";
        if (text is null || text.Length > MaxLength || !text.StartsWith(Scheme, StringComparison.Ordinal))
        {
            return false;
        }

        var rest = text.AsSpan(Scheme.Length);
        var slash = rest.IndexOf('/');
        if (slash <= 0 || !IsTrustDomainName(rest[..slash]))
        {
            return false;
        }

        var path = rest[(slash + 1)..];
        if (path.IsEmpty)
        {
            return false;
        }

        foreach (var segment in path.ToString().Split('/'))
        {
            if (segment.Length == 0 || segment is "." or "..")
            {
                return false;
            }

            foreach (var c in segment)
            {
                if (!(char.IsAsciiLetterOrDigit(c) || c is '.' or '-' or '_'))
                {
                    return false;
                }
            }
        }

        trustDomain = rest[..slash].ToString();
        return true;
    }

    /// <summary>Whether <paramref name="name"/> is a valid trust domain name.</summary>
    public static bool IsTrustDomainName(ReadOnlySpan<char> name)
    {
        if (name.IsEmpty || name.Length > 255)
        {
            return false;
        }

        foreach (var c in name)
        {
            if (!(char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c is '.' or '-' or '_'))
            {
                return false;
            }
        }

        return true;
    }
}
