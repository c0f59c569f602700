using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;

namespace GrantSilo.Grains.Keys;

/// <summary>
/// Wraps private keys before they are stored, and unwraps them for use: the seam where a cloud KMS plugs in (register
/// an implementation before <c>AddGrantSilo</c>). A wrapped key names the key-encryption key that wrapped it, so a
/// change of that key is detected rather than misread. The context is authenticated data (a KMS's encryption context):
/// the key rings bind each key's ring, id and schedule to its wrap, and seal a key's retirement as a wrap of its id with
/// the retirement time in the context (<see cref="StoredKeyAuthentication"/>).
/// </summary>
public interface IKeyEncryption
{
    /// <summary>The key-encryption key's id, stored beside each key it wraps.</summary>
    string KeyId { get; }

    /// <summary>Wraps <paramref name="plaintext"/>; <paramref name="context"/> is bound to it (it must be given again to unwrap).</summary>
    ValueTask<byte[]> WrapAsync(ReadOnlyMemory<byte> plaintext, string context, CancellationToken cancellationToken);

    /// <summary>
    /// Unwraps what <see cref="WrapAsync"/> made with the same <paramref name="context"/>; throws <see cref="KeyEncryptionException"/>
    /// when it does not authenticate (altered, made with another context, or under another key). The key rings drop a
    /// stored key for which it does, so a failure that says nothing about the key (a KMS that cannot be reached, a
    /// throttled call) must be thrown as another exception: it then fails the ring's call and leaves the ring as stored.
    /// </summary>
    ValueTask<byte[]> UnwrapAsync(ReadOnlyMemory<byte> wrapped, string context, CancellationToken cancellationToken);
}

/// <summary>
/// A key could not be wrapped or unwrapped: no key-encryption key, another one, or altered ciphertext. Serializable, and an
/// <see cref="OrleansException"/>, so the silo that asked the key ring's grain learns why (a client without this assembly
/// still receives the message).
/// </summary>
[GenerateSerializer, Alias("grantsilo.key-encryption")]
public sealed class KeyEncryptionException : OrleansException
{
    public KeyEncryptionException()
        : this("A key could not be wrapped or unwrapped.")
    {
    }

    public KeyEncryptionException(string message)
        : base(message)
    {
    }

    public KeyEncryptionException(string message, Exception? inner)
        : base(message, inner!)
    {
    }
}

/// <summary>
/// The configured key-encryption key (<see cref="KeyRingOptions.KeyEncryptionKey"/> or its file): AES-256-GCM with a
/// random nonce per wrap and the context as associated data. Without a configured key it wraps nothing and unwraps
/// nothing: signing keys are then unavailable, and whatever needs them fails closed.
/// </summary>
public sealed class ConfiguredKeyEncryption : IKeyEncryption
{
    private const int NonceBytes = 12;
    private const int TagBytes = 16;
    private readonly byte[]? _key;
    private readonly string? _problem;

    public ConfiguredKeyEncryption(IOptions<KeyRingOptions> options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var configured = options.Value.KeyEncryptionKey
            ?? (options.Value.KeyEncryptionKeyFile is { } file ? ReadFile(file) : null);
        if (configured is null)
        {
            _problem = $"No key-encryption key is configured ({KeyRingOptions.SectionName}:KeyEncryptionKey or KeyEncryptionKeyFile), so GrantSilo's signing keys cannot be stored or used.";
            KeyId = "none";
            return;
        }
        var key = new byte[configured.Length];
        if (!Convert.TryFromBase64String(configured.Trim(), key, out var length) || length != 32)
        {
            throw new OptionsValidationException(KeyRingOptions.SectionName, typeof(KeyRingOptions),
                [$"{KeyRingOptions.SectionName}:KeyEncryptionKey must be 32 bytes in base64 (openssl rand -base64 32)."]);
        }
        _key = key[..32];
        // The id names the key without revealing it: a keyed hash of a fixed label, never the key or a plain hash of it.
        KeyId = "kek-" + Convert.ToHexStringLower(HMACSHA256.HashData(_key, "grantsilo key-encryption key id"u8))[..16];
    }

    /// <inheritdoc />
    public string KeyId { get; }

    /// <inheritdoc />
    public ValueTask<byte[]> WrapAsync(ReadOnlyMemory<byte> plaintext, string context, CancellationToken cancellationToken)
    {
        var key = _key ?? throw new KeyEncryptionException(_problem!);
        var wrapped = new byte[NonceBytes + plaintext.Length + TagBytes];
        var nonce = wrapped.AsSpan(0, NonceBytes);
        RandomNumberGenerator.Fill(nonce);
        using var aes = new AesGcm(key, TagBytes);
        aes.Encrypt(nonce, plaintext.Span, wrapped.AsSpan(NonceBytes, plaintext.Length), wrapped.AsSpan(NonceBytes + plaintext.Length), Encoding.UTF8.GetBytes(context));
        return ValueTask.FromResult(wrapped);
    }

    /// <inheritdoc />
    public ValueTask<byte[]> UnwrapAsync(ReadOnlyMemory<byte> wrapped, string context, CancellationToken cancellationToken)
    {
        var key = _key ?? throw new KeyEncryptionException(_problem!);
        if (wrapped.Length < NonceBytes + TagBytes)
        {
            throw new KeyEncryptionException("A stored key is too short to have been wrapped by GrantSilo.");
        }
        var span = wrapped.Span;
        var plaintext = new byte[wrapped.Length - NonceBytes - TagBytes];
        try
        {
            using var aes = new AesGcm(key, TagBytes);
            aes.Decrypt(span[..NonceBytes], span.Slice(NonceBytes, plaintext.Length), span[(NonceBytes + plaintext.Length)..], plaintext, Encoding.UTF8.GetBytes(context));
        }
        catch (AuthenticationTagMismatchException failed)
        {
            throw new KeyEncryptionException("A stored key does not unwrap under the configured key-encryption key: the key changed, or the stored key was altered.", failed);
        }
        return ValueTask.FromResult(plaintext);
    }

    private static string ReadFile(string file) => File.Exists(file)
        ? File.ReadAllText(file)
        : throw new OptionsValidationException(KeyRingOptions.SectionName, typeof(KeyRingOptions), [$"{KeyRingOptions.SectionName}:KeyEncryptionKeyFile names '{file}', which does not exist."]);
}
