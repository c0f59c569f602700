using System.Security.Cryptography;
using System.Text;

namespace GrantSilo.Identity;

/// <summary>Turns untrusted text into something safe to put in a detail or a log line.</summary>
internal static class Safe
{
    private const int MaxLength = 80;

    /// <summary>Printable ASCII only, at most 80 characters.</summary>
    public static string Text(string value)
    {
        var builder = new StringBuilder(Math.Min(value.Length, MaxLength));
        foreach (var c in value)
        {
            if (builder.Length == MaxLength)
            {
                builder.Append('…');
                break;
            }

            builder.Append(c is >= ' ' and <= '~' ? c : '?');
        }

        return builder.ToString();
    }

    /// <summary>The first 8 hex digits of SHA-256(UTF-8 of the token): enough to correlate, never the token.</summary>
    public static string TokenTag(string token)
    {
        Span<byte> hash = stackalloc byte[32];
        SHA256.HashData(Encoding.UTF8.GetBytes(token), hash);
        return Convert.ToHexStringLower(hash[..4]);
    }
}
