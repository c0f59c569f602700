namespace GrantSilo.Identity;

/// <summary>
/// A set of GrantSilo caller names an issuer is authoritative for (<see cref="TrustedIssuerOptions.Names"/>): an exact
/// name (<c>service:ci</c>), or a name with one <c>*</c> standing for any run of characters, none included
/// (<c>person:*@acme.dev</c>, <c>service:ci-*</c>). Matching is ordinal, as names are compared everywhere in GrantSilo:
/// <c>person:Alice@ACME.dev</c> is not <c>person:alice@acme.dev</c>, and is not matched by <c>person:*@acme.dev</c>.
/// </summary>
internal sealed class NamePattern
{
    /// <summary>The one character that stands for any run of characters.</summary>
    public const char Wildcard = '*';

    private NamePattern(string text, string prefix, string? suffix)
    {
        Text = text;
        Prefix = prefix;
        Suffix = suffix;
    }

    /// <summary>The pattern as configured.</summary>
    public string Text { get; }

    /// <summary>What a matching name starts with (the whole name when <see cref="IsExact"/>).</summary>
    public string Prefix { get; }

    /// <summary>What a matching name ends with, after the wildcard; null for an exact name.</summary>
    public string? Suffix { get; }

    public bool IsExact => Suffix is null;

    /// <summary>Every name that starts with <paramref name="prefix"/>: an issuer's names when it declares none.</summary>
    public static NamePattern Everything(string prefix) => new(prefix + Wildcard, prefix, "");

    /// <summary>Parses a configured pattern; null (with a reason) when it has more than one wildcard or white space.</summary>
    public static NamePattern? TryParse(string? text, out string? problem)
    {
        problem = null;
        if (string.IsNullOrEmpty(text) || text.Any(char.IsWhiteSpace))
        {
            problem = "must be a name or a pattern without white space";
            return null;
        }

        // Names are known in Unicode NFC (the authenticator composes every name before it checks it, as GrantSilo stores
        // names), so a pattern in another form would describe names no caller can have, and its overlap with other
        // issuers' patterns would be judged on the wrong text.
        if (!IsNfc(text))
        {
            problem = "must be written in Unicode NFC (composed characters, as GrantSilo compares names)";
            return null;
        }

        var star = text.IndexOf(Wildcard, StringComparison.Ordinal);
        if (star < 0)
        {
            return new NamePattern(text, text, null);
        }

        if (text.IndexOf(Wildcard, star + 1) >= 0)
        {
            problem = $"has more than one '{Wildcard}' (one stands for any run of characters)";
            return null;
        }

        return new NamePattern(text, text[..star], text[(star + 1)..]);
    }

    private static bool IsNfc(string text)
    {
        try
        {
            return text.IsNormalized(System.Text.NormalizationForm.FormC);
        }
        catch (ArgumentException)
        {
            // Not well-formed UTF-16 (a lone surrogate).
            return false;
        }
    }

    /// <summary>Whether <paramref name="name"/> is in this set.</summary>
    public bool Matches(string name) => Suffix is null
        ? string.Equals(name, Prefix, StringComparison.Ordinal)
        : name.Length >= Prefix.Length + Suffix.Length
            && name.StartsWith(Prefix, StringComparison.Ordinal)
            && name.EndsWith(Suffix, StringComparison.Ordinal);

    /// <summary>
    /// A name both patterns match, or null when no name is in both. Two patterns with a wildcard share a name exactly
    /// when one prefix starts the other and one suffix ends the other: the longer prefix followed by the longer suffix
    /// is then in both (each wildcard takes what lies between its own prefix and suffix), and when they do not, no
    /// name starts with both prefixes or ends with both suffixes.
    /// </summary>
    public static string? Shared(NamePattern a, NamePattern b)
    {
        if (a.IsExact)
        {
            return b.Matches(a.Prefix) ? a.Prefix : null;
        }

        if (b.IsExact)
        {
            return a.Matches(b.Prefix) ? b.Prefix : null;
        }

        var (prefix, shorterPrefix) = a.Prefix.Length >= b.Prefix.Length ? (a.Prefix, b.Prefix) : (b.Prefix, a.Prefix);
        var (suffix, shorterSuffix) = a.Suffix!.Length >= b.Suffix!.Length ? (a.Suffix, b.Suffix) : (b.Suffix, a.Suffix);
        if (!prefix.StartsWith(shorterPrefix, StringComparison.Ordinal) || !suffix.EndsWith(shorterSuffix, StringComparison.Ordinal))
        {
            return null;
        }

        // For a message: the shortest such name, where the prefix's end and the suffix's start may be one text
        // ("person:alice@*" and "person:*@acme.dev" share "person:alice@acme.dev").
        for (var overlap = Math.Min(prefix.Length, suffix.Length); overlap > 0; overlap--)
        {
            var candidate = prefix + suffix[overlap..];
            if (prefix.EndsWith(suffix[..overlap], StringComparison.Ordinal) && a.Matches(candidate) && b.Matches(candidate))
            {
                return candidate;
            }
        }

        return prefix + suffix;
    }

    /// <inheritdoc />
    public override string ToString() => Text;
}
