using System.Security.Cryptography;

namespace GrantSilo.Grains.Keys;

/// <summary>
/// An HMAC-SHA-256 key used on a hot path: each thread keeps one keyed context and resets it after every MAC, so a MAC
/// costs the hashing alone. The one-shot <see cref="HMACSHA256.HashData(byte[], byte[])"/> looks the algorithm up and
/// sets a context up on every call, which on OpenSSL 3 costs about as much again as the MAC of a short input.
/// </summary>
internal sealed class HmacKey : IDisposable
{
    private readonly byte[] _key;
    private readonly ThreadLocal<IncrementalHash> _contexts;

    public HmacKey(byte[] key)
    {
        ArgumentNullException.ThrowIfNull(key);
        _key = key;
        // Not tracked: a thread's context goes (and its native context is freed by its finalizer) when the thread does,
        // so pool threads that come and go leave nothing behind.
        _contexts = new ThreadLocal<IncrementalHash>(() => IncrementalHash.CreateHMAC(HashAlgorithmName.SHA256, _key));
    }

    /// <summary>Writes HMAC-SHA-256(key, <paramref name="data"/>) to <paramref name="destination"/> (32 bytes).</summary>
    public void Compute(ReadOnlySpan<byte> data, Span<byte> destination)
    {
        // Checked before anything is appended: a context left holding data would spoil this thread's next MAC.
        if (destination.Length < HMACSHA256.HashSizeInBytes)
        {
            throw new ArgumentException("The destination must hold 32 bytes.", nameof(destination));
        }
        var context = _contexts.Value!;
        context.AppendData(data);
        context.GetHashAndReset(destination);
    }

    public void Dispose() => _contexts.Dispose();
}
