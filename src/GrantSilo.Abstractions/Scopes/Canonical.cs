using System.Globalization;
using System.Text;

namespace GrantSilo;

/// <summary>
/// Canonicalises text that takes part in access decisions: Unicode NFC, and no control, format
/// (bidi, zero-width), line or paragraph separator, private-use or unassigned characters, so two strings
/// that look alike compare alike and no invisible character can smuggle a different meaning past a
/// reviewer. Resource patterns and paths are stricter still (no white space at all, no characters a
/// gateway may decode or normalize into a separator or dot): see <see cref="ResourcePattern"/>.
/// </summary>
public static class Canonical
{
    /// <summary>The longest identifier accepted (agent ids, person ids, task ids), in UTF-16 code units.</summary>
    public const int MaxIdentifierLength = 512;

    /// <summary>
    /// Returns the NFC form of <paramref name="text"/>, or an error naming what is wrong.
    /// </summary>
    public static bool TryCanonicalize(string? text, int maxLength, out string canonical, out string? problem)
    {
        canonical = string.Empty;
        if (string.IsNullOrEmpty(text))
        {
            problem = "is empty";
            return false;
        }
        if (text.Length > maxLength * 4)
        {
            problem = $"is longer than {maxLength} characters";
            return false;
        }
        string normalized;
        try
        {
            normalized = text.IsNormalized(NormalizationForm.FormC) ? text : text.Normalize(NormalizationForm.FormC);
        }
        catch (ArgumentException)
        {
            problem = "is not valid Unicode (unpaired surrogate)";
            return false;
        }
        if (normalized.Length > maxLength)
        {
            problem = $"is longer than {maxLength} characters";
            return false;
        }
        for (var i = 0; i < normalized.Length; i++)
        {
            var category = CharUnicodeInfo.GetUnicodeCategory(normalized, i);
            switch (category)
            {
                case UnicodeCategory.Control:
                case UnicodeCategory.Format:
                case UnicodeCategory.LineSeparator:
                case UnicodeCategory.ParagraphSeparator:
                case UnicodeCategory.Surrogate:
                case UnicodeCategory.PrivateUse:
                case UnicodeCategory.OtherNotAssigned:
                    problem = $"contains a forbidden character U+{(int)normalized[i]:X4} ({category}) at position {i}";
                    return false;
            }
            if (char.IsHighSurrogate(normalized[i]))
            {
                i++;
            }
        }
        canonical = normalized;
        problem = null;
        return true;
    }

    /// <summary>The longest reason text accepted (revocation, suspension, completion summaries).</summary>
    public const int MaxReasonLength = 1024;

    /// <summary>
    /// Canonicalises a free-text reason that is recorded, logged, shown to people and copied down a
    /// cascade: empty becomes <paramref name="fallback"/>; otherwise as <see cref="Text"/>, so a reason can
    /// never forge log lines or hide text from a reviewer.
    /// </summary>
    public static GrantResult<string> Reason(string? text, string fallback) => Reason(text, fallback, "reason");

    /// <summary>As <see cref="Reason(string?, string)"/>, naming the field (<c>summary</c>, <c>comment</c>) in the error.</summary>
    public static GrantResult<string> Reason(string? text, string fallback, string field)
    {
        var canonical = Text(text, field, MaxReasonLength);
        return !canonical.IsSuccess ? canonical.Error : GrantResult<string>.Ok(canonical.Value ?? fallback);
    }

    /// <summary>
    /// Canonicalises free text that is recorded and shown to people (a task's purpose, a completion
    /// summary, an approver's comment, an agent's display name): null or white space is null; otherwise
    /// trimmed, NFC, at most <paramref name="maxLength"/> characters, and free of control characters (line
    /// feed, tab, BEL), format characters (bidi overrides and isolates, zero-width characters) and line or
    /// paragraph separators, so it reads the same everywhere it is shown and cannot forge a log line.
    /// Refusals are <see cref="GrantErrorCode.InvalidArgument"/> errors naming <paramref name="field"/>.
    /// </summary>
    public static GrantResult<string?> Text(string? text, string field, int maxLength)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            return GrantResult<string?>.Ok(null);
        }
        return TryCanonicalize(text.Trim(), maxLength, out var canonical, out var problem)
            ? GrantResult<string?>.Ok(canonical)
            : GrantResult<string?>.Fail(GrantErrorCode.InvalidArgument, $"The {field} {problem}.", target: field);
    }

    /// <summary>
    /// Canonicalises an identifier or returns a typed error naming the field. Text holding a bearer token
    /// (see <see cref="Untrusted.ContainsToken"/>) is refused, and no error repeats the text.
    /// </summary>
    public static GrantResult<string> Identifier(string? text, string field)
    {
        if (text is not null && text.Trim().Length != text.Length)
        {
            return GrantResult<string>.Fail(GrantErrorCode.InvalidIdentifier, $"{field} has leading or trailing white space.", target: field);
        }
        if (!TryCanonicalize(text, MaxIdentifierLength, out var canonical, out var problem))
        {
            return GrantResult<string>.Fail(GrantErrorCode.InvalidIdentifier, $"{field} {problem}.", target: field);
        }
        // A token where an id belongs (a credential's token for its id, say) must not become a grain key,
        // a stored reference or a log line; the error says so without repeating it.
        if (Untrusted.ContainsToken(canonical))
        {
            return GrantResult<string>.Fail(GrantErrorCode.InvalidIdentifier, $"{field} holds a bearer token (gs1.<credential id>.<secret>, or a JWT), not an id; pass the id. The token was not used.", target: field);
        }
        return GrantResult<string>.Ok(canonical);
    }
}
