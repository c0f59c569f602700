using System.Buffers;
using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace GrantSilo.Identity;

/// <summary>SHA-256 of a token's UTF-8 bytes, as a value: the cache key (the token itself is never kept).</summary>
internal readonly struct TokenHash : IEquatable<TokenHash>
{
    private const int StackLimit = 4096;
    private readonly ulong _a, _b, _c, _d;

    private TokenHash(ReadOnlySpan<byte> hash)
    {
        _a = BinaryPrimitives.ReadUInt64BigEndian(hash);
        _b = BinaryPrimitives.ReadUInt64BigEndian(hash[8..]);
        _c = BinaryPrimitives.ReadUInt64BigEndian(hash[16..]);
        _d = BinaryPrimitives.ReadUInt64BigEndian(hash[24..]);
    }

    /// <summary>Hashes without allocating (tokens up to 4 KiB of UTF-8 use the stack, longer ones a pooled buffer).</summary>
    public static TokenHash Compute(string token)
    {
        Span<byte> hash = stackalloc byte[32];
        var max = Encoding.UTF8.GetMaxByteCount(token.Length);
        byte[]? rented = null;
        var buffer = max <= StackLimit ? stackalloc byte[StackLimit] : (rented = ArrayPool<byte>.Shared.Rent(max));
        try
        {
            var length = Encoding.UTF8.GetBytes(token, buffer);
            SHA256.HashData(buffer[..length], hash);
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<byte>.Shared.Return(rented);
            }
        }

        return new TokenHash(hash);
    }

    /// <summary>Hashes a token's UTF-8 bytes (as a call carries them).</summary>
    public static TokenHash Compute(ReadOnlySpan<byte> utf8Token)
    {
        Span<byte> hash = stackalloc byte[32];
        SHA256.HashData(utf8Token, hash);
        return new TokenHash(hash);
    }

    /// <summary>A hash computed elsewhere (a call's reference to a token it sent before); false when it is not 32 bytes.</summary>
    public static bool TryFrom(ReadOnlySpan<byte> sha256, out TokenHash hash)
    {
        hash = sha256.Length == 32 ? new TokenHash(sha256) : default;
        return sha256.Length == 32;
    }

    /// <summary>The first 8 hex digits: for logs.</summary>
    public string Tag => ((uint)(_a >> 32)).ToString("x8", System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>The tag, so a log line shows it.</summary>
    public override string ToString() => Tag;

    public bool Equals(TokenHash other) => _a == other._a && _b == other._b && _c == other._c && _d == other._d;

    public override bool Equals(object? obj) => obj is TokenHash other && Equals(other);

    // The hash is already uniform; any 32 bits of it do.
    public override int GetHashCode() => (int)_a;
}
