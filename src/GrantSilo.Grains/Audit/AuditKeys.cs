using System.Security.Cryptography;
using System.Text;
using GrantSilo.Grains.Keys;
using GrantSilo.Identity;
using Microsoft.Extensions.Options;

namespace GrantSilo.Grains.Audit;

/// <summary>
/// The audit log's two keys: the ECDSA P-256 key that signs checkpoints, and the HMAC key under which values derived from
/// a token are hashed. Each comes from its configured file or is made on first start and kept (owner-only) in the key
/// directory, so it outlives restarts. Neither is ever logged or stored in the audit log.
/// </summary>
public sealed class AuditKeys : IDisposable
{
    private const string SigningKeyFileName = "audit-signing-key.pem";
    private const string HashKeyFileName = "audit-hash-key";

    private readonly byte[] _hashKey;
    private readonly HmacKey _tokenMac;

    /// <summary>
    /// Reads the configured key files, or the kept ones, making those missing. On Unix a key GrantSilo keeps is refused
    /// (<see cref="KeyFileRefusedException"/>) unless it and the key directory belong to the user the silo runs as, the
    /// directory is not writable by group or others, and the file is a regular file only its owner may read or write.
    /// A configured file (<see cref="AuditOptions.SigningKeyFile"/>, <see cref="AuditOptions.HashKeyFile"/>) is the
    /// operator's and is read as it is: a mounted secret is commonly a symbolic link owned by root (docs/audit.md).
    /// </summary>
    public AuditKeys(IOptions<AuditOptions> options, IOptions<FileAuditStoreOptions> fileOptions)
        : this(options, fileOptions, KeyFileGuard.ForThisProcess)
    {
    }

    /// <summary>As the public constructor, with the key-file guard given (tests give any owner and mode).</summary>
    internal AuditKeys(IOptions<AuditOptions> options, IOptions<FileAuditStoreOptions> fileOptions, KeyFileGuard? guard)
    {
        var audit = options.Value;
        var directory = audit.KeyDirectory ?? fileOptions.Value.Directory;
        SigningKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        SigningKey.ImportFromPem(ReadOrCreate(audit.SigningKeyFile, directory, SigningKeyFileName, () =>
        {
            using var made = ECDsa.Create(ECCurve.NamedCurves.nistP256);
            return made.ExportPkcs8PrivateKeyPem();
        }, "GrantSilo:Audit:SigningKeyFile", guard, "the audit signing key"));
        var hashKey = ReadOrCreate(audit.HashKeyFile, directory, HashKeyFileName, () => Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)), "GrantSilo:Audit:HashKeyFile", guard, "the audit hash key");
        _hashKey = Convert.TryFromBase64String(hashKey.Trim(), new byte[hashKey.Length], out var length) && length >= 32
            ? Convert.FromBase64String(hashKey.Trim())
            : throw new OptionsValidationException(AuditOptions.SectionName, typeof(AuditOptions), ["The audit hash key file holds no base64 key of at least 32 bytes: put 'openssl rand -base64 32' in it, or remove it to have one made."]);
        KeyId = AuditChain.KeyId(SigningKey);
        HashKeyId = IdOf(_hashKey);
        _tokenMac = new HmacKey(_hashKey);
        var published = new List<AuditSigningKey> { AuditChain.Publish(SigningKey) };
        foreach (var file in audit.TrustedPublicKeyFiles)
        {
            using var retired = ECDsa.Create();
            retired.ImportFromPem(File.ReadAllText(file));
            published.Add(AuditChain.Publish(retired));
        }
        Published = published;
    }

    /// <summary>Keys made now and kept nowhere: for a silo whose audit is in memory only, tests and measurements.</summary>
    public static AuditKeys Ephemeral() => new(ECDsa.Create(ECCurve.NamedCurves.nistP256), RandomNumberGenerator.GetBytes(32));

    /// <summary>Keys made for a test or a measurement, kept nowhere.</summary>
    public AuditKeys(ECDsa signingKey, byte[] hashKey)
    {
        SigningKey = signingKey;
        _hashKey = hashKey;
        KeyId = AuditChain.KeyId(signingKey);
        HashKeyId = IdOf(hashKey);
        _tokenMac = new HmacKey(hashKey);
        Published = [AuditChain.Publish(signingKey)];
    }

    /// <summary>
    /// The hash key's public id: base64url of the first 16 bytes of HMAC-SHA-256 under the key of a fixed label. Equal
    /// ids mean equal keys; the id tells nothing of the key.
    /// </summary>
    public string HashKeyId { get; }

    private static string IdOf(byte[] hashKey) =>
        Convert.ToBase64String(HMACSHA256.HashData(hashKey, "grantsilo audit hash key id"u8)[..16]).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    /// <summary>The key that signs checkpoints.</summary>
    public ECDsa SigningKey { get; }

    /// <summary>Its id.</summary>
    public string KeyId { get; }

    /// <summary>The public keys whose checkpoints verify, the current one first.</summary>
    public IReadOnlyList<AuditSigningKey> Published { get; }

    /// <summary>The keyed hash of a credential token's secret: base64url of HMAC-SHA-256, so a holder of the token finds its records.</summary>
    public string TokenHash(ReadOnlySpan<byte> secret)
    {
        Span<byte> hash = stackalloc byte[32];
        _tokenMac.Compute(secret, hash);
        return Convert.ToBase64String(hash).TrimEnd('=').Replace('+', '-').Replace('/', '_');
    }

    /// <inheritdoc />
    public void Dispose()
    {
        SigningKey.Dispose();
        _tokenMac.Dispose();
    }

    private static string ReadOrCreate(string? configured, string directory, string fileName, Func<string> make, string setting, KeyFileGuard? guard, string key)
    {
        if (configured is not null)
        {
            return File.Exists(configured)
                ? File.ReadAllText(configured)
                : throw new OptionsValidationException(AuditOptions.SectionName, typeof(AuditOptions), [$"{setting} names '{configured}', which does not exist; give an existing file or remove the setting to have a key made."]);
        }
        var path = Path.Combine(directory, fileName);
        var use = new KeyFileUse(key, $"set GrantSilo:Audit:KeyDirectory to a directory only this user can write, or name a key file in {setting}", AuditOptions.SectionName, typeof(AuditOptions));
        if (OperatingSystem.IsWindows())
        {
            Directory.CreateDirectory(directory);
        }
        else
        {
            // Owner-only when made here. One that exists keeps its owner and mode, so it is checked before a key in it is
            // trusted: once it is this user's alone, no one else can swap the file between the check and the read.
            Directory.CreateDirectory(directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }
        guard?.EnsureDirectory(directory, use);
        if (File.Exists(path))
        {
            guard?.EnsureFile(path, use);
            return File.ReadAllText(path);
        }
        var text = make();
        var temporary = $"{path}.{Guid.NewGuid():N}.new";
        var create = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
        {
            // Owner-only from the moment it exists.
            create.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }
        using (var file = new FileStream(temporary, create))
        {
            file.Write(Encoding.UTF8.GetBytes(text));
            file.Flush(flushToDisk: true);
        }
        try
        {
            File.Move(temporary, path, overwrite: false);
        }
        catch (IOException) when (File.Exists(path))
        {
            // Another silo of this host made it first: use theirs.
            File.Delete(temporary);
            guard?.EnsureFile(path, use);
            return File.ReadAllText(path);
        }
        return text;
    }
}
