using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace GrantSilo.Persistence.AzureTables.Storage;

/// <summary>
/// The grain id the Azure Table grain storage is given for a grain: the same type, and the key escaped so that the
/// provider's own key sanitising (it replaces <c>/ \ # ?</c> with <c>_</c>) changes nothing and distinct grains never
/// share a row. Every UTF-16 code unit outside <c>A-Z a-z 0-9 - . :</c> becomes <c>%XXXX</c> (its hex value), which
/// is injective and leaves none of the characters Azure forbids in keys. An escaped key longer than
/// <see cref="MaxKeyLength"/> keeps its first part and appends <c>~</c> and the SHA-256 of the whole escaped key
/// (<c>~</c> appears in no unshortened key, since it is escaped), so long keys stay well under Azure's 1 KiB limit.
/// </summary>
internal static class StorageKeys
{
    /// <summary>The longest escaped key kept whole.</summary>
    public const int MaxKeyLength = 512;

    private const int KeptWhenShortened = 256;

    private static readonly System.Buffers.SearchValues<char> Kept =
        System.Buffers.SearchValues.Create("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-.:");

    /// <summary>The grain id to give the provider: <paramref name="grainId"/> itself when its key needs no escaping.</summary>
    public static GrainId For(GrainId grainId)
    {
        var key = grainId.Key.ToString()!;
        var escaped = Escape(key);
        return ReferenceEquals(escaped, key) ? grainId : GrainId.Create(grainId.Type, IdSpan.Create(escaped));
    }

    /// <summary>The escaped key; <paramref name="key"/> itself (no copy) when every character is kept as it is.</summary>
    public static string Escape(string key)
    {
        if (key.Length <= MaxKeyLength && key.AsSpan().IndexOfAnyExcept(Kept) < 0)
        {
            return key;
        }
        var escaped = new StringBuilder(key.Length + 16);
        foreach (var c in key)
        {
            if (Kept.Contains(c))
            {
                escaped.Append(c);
            }
            else
            {
                escaped.Append('%').Append(((int)c).ToString("X4", CultureInfo.InvariantCulture));
            }
        }
        if (escaped.Length <= MaxKeyLength)
        {
            return escaped.ToString();
        }
        var whole = escaped.ToString();
        var hash = Convert.ToHexString(SHA256.HashData(Encoding.ASCII.GetBytes(whole)));
        return string.Concat(whole.AsSpan(0, KeptWhenShortened), "~", hash);
    }
}
