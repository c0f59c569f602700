using System.Buffers.Text;
using System.Text;

namespace GrantSilo.Grains.Indexes;

/// <summary>
/// Ids that grains keep in their indexes are short: session, child-task and credential ids are chosen by
/// GrantSilo, and a root task's id (chosen by its creator, the SDK choosing <c>t-</c> and 32 hex digits) is at
/// most <see cref="MaxLength"/> characters of a plain alphabet, so an index's size follows from its quota.
/// </summary>
internal static class IndexedIds
{
    /// <summary>The longest task id accepted at creation.</summary>
    public const int MaxLength = 128;

    /// <summary>True for 1 to 128 ASCII letters, digits, <c>-</c>, <c>_</c>, <c>.</c> and <c>:</c> that are not a credential token or JWT.</summary>
    public static bool IsCompact(string? id)
    {
        if (string.IsNullOrEmpty(id) || id.Length > MaxLength || Untrusted.ContainsToken(id))
        {
            return false;
        }
        foreach (var c in id)
        {
            if (!char.IsAsciiLetterOrDigit(c) && c is not ('-' or '_' or '.' or ':'))
            {
                return false;
            }
        }
        return true;
    }

    /// <summary>A new session id.</summary>
    public static string NewSessionId() => "s-" + Guid.NewGuid().ToString("N");
}

/// <summary>
/// Continuation tokens of listings: the last key a page covered, base64url-encoded so callers treat it as opaque.
/// </summary>
internal static class PageToken
{
    private const int MaxKeyLength = 2 * IndexedIds.MaxLength + 64;

    public static string Encode(string key) => Base64Url.EncodeToString(Encoding.UTF8.GetBytes(key));

    /// <summary>The key a token names (null for no token), or an <see cref="GrantErrorCode.InvalidArgument"/> error.</summary>
    public static GrantResult<string?> Decode(string? token)
    {
        if (token is null)
        {
            return GrantResult<string?>.Ok(null);
        }
        if (token.Length is 0 or > MaxKeyLength * 2 || !Base64Url.IsValid(token))
        {
            return Malformed();
        }
        try
        {
            return GrantResult<string?>.Ok(new UTF8Encoding(false, true).GetString(Base64Url.DecodeFromChars(token)));
        }
        catch (Exception exception) when (exception is FormatException or ArgumentException)
        {
            return Malformed();
        }

        static GrantResult<string?> Malformed() =>
            GrantResult<string?>.Fail(GrantErrorCode.InvalidArgument, "The continuation token is malformed; pass back a token a listing returned.");
    }

    /// <summary>
    /// The keys after <paramref name="after"/> in ordinal order, at most <paramref name="size"/> of them, and whether
    /// any follow.
    /// </summary>
    public static (List<string> Keys, bool More) Slice(IEnumerable<string> keys, string? after, int size)
    {
        var ordered = keys.Where(k => after is null || string.CompareOrdinal(k, after) > 0).Order(StringComparer.Ordinal).Take(size + 1).ToList();
        var more = ordered.Count > size;
        if (more)
        {
            ordered.RemoveAt(size);
        }
        return (ordered, more);
    }
}
