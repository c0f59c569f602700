using System.Globalization;
using System.Text;

namespace GrantSilo;

/// <summary>
/// A resource path such as <c>acme/payments/ledger</c>, or a subtree pattern whose last segment is
/// <c>*</c> (<c>acme/payments/*</c> matches every path strictly below <c>acme/payments</c>; a lone
/// <c>*</c> matches every path). Text is NFC and holds no white space or separator of any kind, no control,
/// format (bidi, zero-width) or unassigned character, no backslash, <c>%</c>, <c>;</c>, <c>?</c> or
/// <c>#</c>, and no character that compatibility normalization (NFKC) turns into one of those, a dot, a
/// <c>/</c> or a <c>*</c>. Segments are non-empty and never made of dots only (<c>.</c>, <c>..</c>). So
/// a gateway that decodes or normalizes a path after the decision cannot reach outside the pattern
/// (docs/resource-paths.md). Containment between two patterns is a prefix test.
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
        if (FindAmbiguity(canonical) is { } ambiguity)
        {
            return Invalid(canonical, $"Resource pattern {ambiguity}; see docs/resource-paths.md.");
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
            if (segment.AsSpan().IndexOfAnyExcept('.') < 0)
            {
                return Invalid(canonical, "Resource pattern segments may not be '.', '..' or any other run of dots only.");
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

    // Characters a gateway, a URL decoder or a file system may read differently after the decision: a
    // backslash (a separator on Windows), '%' (a decoder turns %2e%2e into '..'), and ';', '?' and '#'
    // (path parameters, queries and fragments are stripped, so 'a/..;/b' becomes 'a/../b').
    private const string AmbiguousAscii = "\\%;?#";

    // What a compatibility-normalizing (NFKC) reader must not be able to produce from a single non-ASCII
    // character: a separator, a dot, a wildcard, any of the ambiguous characters, or white space.
    private static readonly System.Buffers.SearchValues<char> Structural = System.Buffers.SearchValues.Create("/.*\\%;?#");

    /// <summary>
    /// Describes the first character of <paramref name="text"/> (already NFC, without control or format
    /// characters) that could make a path mean something else to whoever acts on it after the decision,
    /// or null when there is none.
    /// </summary>
    private static string? FindAmbiguity(string text)
    {
        var position = 0;
        foreach (var rune in text.EnumerateRunes())
        {
            var at = position;
            position += rune.Utf16SequenceLength;
            if (rune.IsAscii)
            {
                var c = (char)rune.Value;
                if (c == ' ')
                {
                    return $"contains a space at position {at}";
                }
                if (AmbiguousAscii.Contains(c, StringComparison.Ordinal))
                {
                    return c switch
                    {
                        '\\' => $"contains a backslash at position {at} (only '/' separates segments)",
                        '%' => $"contains '%' at position {at} (percent-escapes are not accepted: pass the decoded path)",
                        _ => $"contains '{c}' at position {at} (URL handling may strip or split a path there)",
                    };
                }
                continue;
            }
            var category = Rune.GetUnicodeCategory(rune);
            if (category is UnicodeCategory.SpaceSeparator or UnicodeCategory.LineSeparator or UnicodeCategory.ParagraphSeparator
                or UnicodeCategory.Control or UnicodeCategory.Format or UnicodeCategory.Surrogate or UnicodeCategory.PrivateUse or UnicodeCategory.OtherNotAssigned)
            {
                return $"contains a forbidden character U+{rune.Value:X4} ({category}) at position {at}";
            }
            var compatible = rune.ToString().Normalize(NormalizationForm.FormKC);
            if (compatible.AsSpan().IndexOfAny(Structural) >= 0 || compatible.Any(char.IsWhiteSpace))
            {
                return $"contains U+{rune.Value:X4} at position {at}, which compatibility normalization (NFKC) reads as '{compatible}'";
            }
        }
        return null;
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
        GrantResult<ResourcePattern>.Fail(GrantErrorCode.InvalidScope, message, permission: text is not null && Untrusted.ContainsToken(text) ? Untrusted.Id(text) : text);

    /// <inheritdoc />
    public bool Equals(ResourcePattern? other) => other is not null && string.Equals(Text, other.Text, StringComparison.Ordinal);

    /// <inheritdoc />
    public override int GetHashCode() => StringComparer.Ordinal.GetHashCode(Text);

    /// <inheritdoc />
    public override string ToString() => Text;
}
