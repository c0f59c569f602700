using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace GrantSilo.Persistence.AzureTables.Internal;

/// <summary>
/// Builds Azure Table partition and row keys. Keys may not contain <c>/ \ # ?</c> or control characters, and are at most
/// 1 KiB; every other character (any Unicode) is allowed. Components are escaped with <c>%XX</c> (so <c>%</c> and the
/// separator <c>|</c> are escaped too), which keeps distinct inputs distinct and lets keys be joined unambiguously.
/// </summary>
internal static class TableKeys
{
    /// <summary>Separator between escaped key components; never appears inside an escaped component.</summary>
    public const char Separator = '|';

    /// <summary>Longest key (in UTF-16 code units) written as is; longer keys are shortened with a hash.</summary>
    public const int MaxKeyLength = 400;

    private const int KeptPrefixLength = MaxKeyLength - 65;

    public static string Escape(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        StringBuilder? builder = null;
        for (var i = 0; i < value.Length; i++)
        {
            var c = value[i];
            var escape = IsForbidden(c);
            var loneSurrogate = false;
            if (!escape && char.IsSurrogate(c))
            {
                if (char.IsHighSurrogate(c) && i + 1 < value.Length && char.IsLowSurrogate(value[i + 1]))
                {
                    builder?.Append(c).Append(value[i + 1]);
                    i++;
                    continue;
                }

                loneSurrogate = true;
            }

            if (!escape && !loneSurrogate)
            {
                builder?.Append(c);
                continue;
            }

            builder ??= new StringBuilder(value.Length + 16).Append(value, 0, i);
            if (loneSurrogate)
            {
                builder.Append("%u").Append(((int)c).ToString("X4", CultureInfo.InvariantCulture));
            }
            else
            {
                builder.Append('%').Append(((int)c).ToString("X2", CultureInfo.InvariantCulture));
            }
        }

        return builder?.ToString() ?? value;
    }

    public static string Unescape(string value)
    {
        if (!value.Contains('%', StringComparison.Ordinal))
        {
            return value;
        }

        var builder = new StringBuilder(value.Length);
        for (var i = 0; i < value.Length; i++)
        {
            if (value[i] != '%')
            {
                builder.Append(value[i]);
            }
            else if (value[i + 1] == 'u')
            {
                builder.Append((char)int.Parse(value.AsSpan(i + 2, 4), NumberStyles.HexNumber, CultureInfo.InvariantCulture));
                i += 5;
            }
            else
            {
                builder.Append((char)int.Parse(value.AsSpan(i + 1, 2), NumberStyles.HexNumber, CultureInfo.InvariantCulture));
                i += 2;
            }
        }

        return builder.ToString();
    }

    /// <summary>Escapes each component and joins them with <see cref="Separator"/>, shortening the result if it is too long.</summary>
    public static string Compose(params string[] components)
    {
        var key = string.Join(Separator, components.Select(Escape));
        return Shorten(key);
    }

    /// <summary>True when <paramref name="key"/> was shortened, so the full identity must be checked against a stored property.</summary>
    public static bool IsShortened(string key) => key.Length == MaxKeyLength && key[KeptPrefixLength] == '~';

    /// <summary>
    /// Keeps keys within Azure's 1 KiB limit: a key longer than <see cref="MaxKeyLength"/> becomes its first characters,
    /// <c>~</c> and the SHA-256 of the whole key (collisions are detected by the callers, who store the full identity).
    /// </summary>
    public static string Shorten(string key)
    {
        if (key.Length <= MaxKeyLength)
        {
            return key;
        }

        var hash = Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(key)));
        var prefixLength = char.IsHighSurrogate(key[KeptPrefixLength - 1]) ? KeptPrefixLength - 1 : KeptPrefixLength;
        return string.Concat(key.AsSpan(0, prefixLength), new string('%', KeptPrefixLength - prefixLength), "~", hash);
    }

    private static bool IsForbidden(char c) => c is '/' or '\\' or '#' or '?' or '%' or Separator || char.IsControl(c);
}
