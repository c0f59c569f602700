namespace GrantSilo;

/// <summary>
/// A resource path such as <c>acme/payments/ledger</c>, or a subtree pattern whose last segment is
/// <c>*</c> (<c>acme/payments/*</c> matches every path strictly below <c>acme/payments</c>; a lone
/// <c>*</c> matches every path). Segments are canonical (NFC, no control or bidi characters), non-empty,
/// and never <c>.</c> or <c>..</c>. Containment between two patterns is a prefix test.
/// </summary>
[GenerateSerializer, Immutable, Alias("grantsilo.resource-pattern")]
public sealed record ResourcePattern
{
    /// <summary>The longest pattern accepted, in characters.</summary>
    public const int MaxLength = 1024;

    /// <summary>The most segments a pattern may have.</summary>
    public const int MaxSegments = 64;

    private ResourcePattern(string text, string prefix, bool isWildcard)
    {
        Text = text;
        Prefix = prefix;
        IsWildcard = isWildcard;
    }

    /// <summary>The canonical text of the pattern.</summary>
    [Id(0)] public string Text { get; init; }

    /// <summary>The exact path, or for a wildcard the path before <c>/*</c> (empty for <c>*</c>).</summary>
    [Id(1)] public string Prefix { get; init; }

    /// <summary>True when the last segment is <c>*</c>.</summary>
    [Id(2)] public bool IsWildcard { get; init; }

    /// <summary>Parses and canonicalises a pattern.</summary>
    public static GrantResult<ResourcePattern> Parse(string? text)
    {
        if (!Canonical.TryCanonicalize(text, MaxLength, out var canonical, out var problem))
        {
            return Invalid(text, $"Resource pattern {problem}.");
        }
        var segments = canonical.Split('/');
        if (segments.Length > MaxSegments)
        {
            return GrantResult<ResourcePattern>.Fail(GrantErrorCode.ScopeTooLarge, $"Resource pattern has more than {MaxSegments} segments.");
        }
        for (var i = 0; i < segments.Length; i++)
        {
            var segment = segments[i];
            if (segment.Length == 0)
            {
                return Invalid(canonical, "Resource pattern has an empty segment (leading, trailing or doubled '/').");
            }
            if (segment is "." or "..")
            {
                return Invalid(canonical, "Resource pattern segments may not be '.' or '..'.");
            }
            if (segment.Contains('*', StringComparison.Ordinal) && (segment != "*" || i != segments.Length - 1))
            {
                return Invalid(canonical, "'*' may only stand as the whole last segment of a resource pattern.");
            }
        }
        var isWildcard = segments[^1] == "*";
        var prefix = isWildcard ? (segments.Length == 1 ? string.Empty : canonical[..^2]) : canonical;
        return GrantResult<ResourcePattern>.Ok(new ResourcePattern(canonical, prefix, isWildcard));
    }

    /// <summary>Parses a concrete resource path (no wildcard).</summary>
    public static GrantResult<ResourcePattern> ParsePath(string? text)
    {
        var result = Parse(text);
        if (result.IsSuccess && result.Value.IsWildcard)
        {
            return Invalid(text, "A resource path may not contain '*'.");
        }
        return result;
    }

    /// <summary>True when every path this pattern matches is matched by <paramref name="other"/>.</summary>
    public bool IsWithin(ResourcePattern other)
    {
        if (!other.IsWildcard)
        {
            return !IsWildcard && string.Equals(Prefix, other.Prefix, StringComparison.Ordinal);
        }
        if (other.Prefix.Length == 0)
        {
            return true;
        }
        if (IsWildcard)
        {
            return IsPathPrefix(other.Prefix, Prefix, allowEqual: true);
        }
        return IsPathPrefix(other.Prefix, Prefix, allowEqual: false);
    }

    /// <summary>True when this pattern matches the concrete <paramref name="path"/>.</summary>
    public bool Matches(string path)
    {
        if (!IsWildcard)
        {
            return string.Equals(Prefix, path, StringComparison.Ordinal);
        }
        return Prefix.Length == 0 || IsPathPrefix(Prefix, path, allowEqual: false);
    }

    /// <summary>The largest pattern within both, or null when they share no path.</summary>
    public ResourcePattern? Intersect(ResourcePattern other) =>
        IsWithin(other) ? this : other.IsWithin(this) ? other : null;

    // True when 'path' is 'prefix' followed by at least one more segment (or equal, when allowed).
    private static bool IsPathPrefix(string prefix, string path, bool allowEqual)
    {
        if (path.Length == prefix.Length)
        {
            return allowEqual && string.Equals(prefix, path, StringComparison.Ordinal);
        }
        return path.Length > prefix.Length
            && path[prefix.Length] == '/'
            && path.StartsWith(prefix, StringComparison.Ordinal);
    }

    private static GrantResult<ResourcePattern> Invalid(string? text, string message) =>
        GrantResult<ResourcePattern>.Fail(GrantErrorCode.InvalidScope, message, permission: text);

    /// <inheritdoc />
    public bool Equals(ResourcePattern? other) => other is not null && string.Equals(Text, other.Text, StringComparison.Ordinal);

    /// <inheritdoc />
    public override int GetHashCode() => StringComparer.Ordinal.GetHashCode(Text);

    /// <inheritdoc />
    public override string ToString() => Text;
}
