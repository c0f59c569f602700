using System.Globalization;
using System.Text;

namespace GrantSilo;

/// <summary>
/// Renders text a caller supplied where an id was expected — which may be anything, a bearer token
/// passed by mistake among them — for an error message, an error's target or a log: never the secret
/// part of a token, never a control or invisible character, never more than
/// <see cref="MaxLength"/> characters.
/// </summary>
public static class Untrusted
{
    /// <summary>The longest rendering of the text itself, in characters (longer text is cut and ends with '…').</summary>
    public const int MaxLength = 128;

    /// <summary>What stands in for everything after the second dot of a token.</summary>
    public const string Redacted = "***";

    /// <summary>
    /// The text as it may be shown: anything shaped like a bearer token (a GrantSilo token
    /// <c>gs1.&lt;credential id&gt;.&lt;secret&gt;</c>, or a JWT <c>eyJ….….…</c>) keeps only what comes
    /// before its second dot, followed by <see cref="Redacted"/>; control, format (bidi, zero-width),
    /// separator and unassigned characters become U+FFFD; the rest is cut at <see cref="MaxLength"/>.
    /// Ordinary ids come back unchanged.
    /// </summary>
    public static string Id(string? text)
    {
        if (text is null)
        {
            return "(none)";
        }
        var secretAt = SecretStart(text);
        var visible = secretAt >= 0 ? text.AsSpan(0, secretAt) : text.AsSpan();
        if (secretAt < 0 && visible.Length <= MaxLength && IsPlain(visible))
        {
            return text;
        }
        var rendered = new StringBuilder(Math.Min(visible.Length, MaxLength) + Redacted.Length + 1);
        var i = 0;
        for (; i < visible.Length && rendered.Length < MaxLength; i++)
        {
            var c = visible[i];
            if (char.IsHighSurrogate(c) && i + 1 < visible.Length && char.IsLowSurrogate(visible[i + 1]))
            {
                var category = CharUnicodeInfo.GetUnicodeCategory(char.ConvertToUtf32(c, visible[i + 1]));
                if (IsHidden(category))
                {
                    rendered.Append('\uFFFD');
                }
                else
                {
                    rendered.Append(c).Append(visible[i + 1]);
                }
                i++;
                continue;
            }
            rendered.Append(c == ' ' || !IsHidden(CharUnicodeInfo.GetUnicodeCategory(c)) ? c : '\uFFFD');
        }
        if (i < visible.Length)
        {
            rendered.Append('…');
        }
        if (secretAt >= 0)
        {
            rendered.Append(Redacted);
        }
        return rendered.ToString();
    }

    /// <summary>
    /// True when <paramref name="text"/> holds something shaped like a bearer token (a GrantSilo token or a
    /// JWT) whose part after the second dot must never be shown, stored or used as an id.
    /// </summary>
    public static bool ContainsToken(string? text) => text is not null && SecretStart(text) >= 0;

    // Where the secret of the first token-shaped run begins (just after its second dot), or -1. Either
    // run starts a word (at the start, or after a character that cannot be part of a token): a GrantSilo
    // token by its prefix, in any case, whatever follows it; a JWT by its header, which always starts
    // with "eyJ" (base64url of '{"'), followed by two dot-terminated base64url runs.
    private static int SecretStart(string text)
    {
        for (var start = 0; start < text.Length; start++)
        {
            if (text[start] is not ('g' or 'G' or 'e') || start > 0 && (IsBase64Url(text[start - 1]) || text[start - 1] == '.'))
            {
                continue;
            }
            if (string.Compare(text, start, CredentialToken.LegacyPrefix, 0, CredentialToken.LegacyPrefix.Length, StringComparison.OrdinalIgnoreCase) == 0)
            {
                var second = text.IndexOf('.', start + CredentialToken.LegacyPrefix.Length);
                if (second >= 0)
                {
                    return second + 1;
                }
            }
            else if (string.CompareOrdinal(text, start, "eyJ", 0, 3) == 0)
            {
                var header = RunEnd(text, start);
                var payload = header < text.Length && text[header] == '.' ? RunEnd(text, header + 1) : header;
                if (payload > header + 1 && payload < text.Length && text[payload] == '.')
                {
                    return payload + 1;
                }
            }
        }
        return -1;
    }

    private static int RunEnd(string text, int from)
    {
        while (from < text.Length && IsBase64Url(text[from]))
        {
            from++;
        }
        return from;
    }

    private static bool IsBase64Url(char c) => char.IsAsciiLetterOrDigit(c) || c is '-' or '_';

    private static bool IsPlain(ReadOnlySpan<char> text)
    {
        foreach (var c in text)
        {
            if (c is < ' ' or > '~')
            {
                return false;
            }
        }
        return true;
    }

    private static bool IsHidden(UnicodeCategory category) => category is
        UnicodeCategory.Control or UnicodeCategory.Format or UnicodeCategory.SpaceSeparator
        or UnicodeCategory.LineSeparator or UnicodeCategory.ParagraphSeparator or UnicodeCategory.Surrogate
        or UnicodeCategory.PrivateUse or UnicodeCategory.OtherNotAssigned;
}
