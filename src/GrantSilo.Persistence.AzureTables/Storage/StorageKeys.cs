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

    public static GrainId For(GrainId grainId) => GrainId.Create(grainId.Type, IdSpan.Create(Escape(grainId.Key.ToString()!)));

    public static string Escape(string key)
    {
        var escaped = new StringBuilder(key.Length + 16);
        foreach (var c in key)
        {
            if (char.IsAsciiLetterOrDigit(c) || c is '-' or '.' or ':')
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
