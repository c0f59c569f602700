using System.Runtime.Versioning;
using GrantSilo.Grains.Audit;
using GrantSilo.Identity;
using Microsoft.Extensions.Options;

namespace GrantSilo.Grains.Tests.Audit;

/// <summary>
/// The audit log's keys kept in the key directory: made owner-only, read back on the next start, and refused (on Unix)
/// when another user of the host could have read them or put theirs in their place. Over real files, through statx(2);
/// a file of another user through an injected owner.
/// </summary>
public sealed class AuditKeysTests : IDisposable
{
    private const UnixFileMode OwnerOnlyDirectory = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;
    private const UnixFileMode OwnerOnlyFile = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    private readonly DirectoryInfo _scratch = Directory.CreateTempSubdirectory("grantsilo-audit-keys-");

    public void Dispose() => _scratch.Delete(recursive: true);

    private string KeyDirectory => Path.Combine(_scratch.FullName, "keys");

    private string SigningKeyPath => Path.Combine(KeyDirectory, "audit-signing-key.pem");

    private string HashKeyPath => Path.Combine(KeyDirectory, "audit-hash-key");

    private AuditKeys Keys(AuditOptions? audit = null) =>
        new(Options.Create(audit ?? new AuditOptions { KeyDirectory = KeyDirectory }), Options.Create(new FileAuditStoreOptions { Directory = Path.Combine(_scratch.FullName, "segments") }));

    [Fact]
    public void FreshKeys_AreKeptOwnerOnly_AndReadBackOnTheNextStart()
    {
        string keyId, hashKeyId;
        using (var first = Keys())
        {
            keyId = first.KeyId;
            hashKeyId = first.HashKeyId;
        }
        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(OwnerOnlyDirectory, File.GetUnixFileMode(KeyDirectory));
            Assert.Equal(OwnerOnlyFile, File.GetUnixFileMode(SigningKeyPath));
            Assert.Equal(OwnerOnlyFile, File.GetUnixFileMode(HashKeyPath));
        }

        using var second = Keys();
        Assert.Equal(keyId, second.KeyId);
        Assert.Equal(hashKeyId, second.HashKeyId);
    }

    [Fact]
    public void KeysInTheSegmentDirectory_AsADefaultUmaskMadeIt_AreKept()
    {
        if (OperatingSystem.IsWindows())
        {
            return;
        }
        // The default key directory is the segment directory, which the file store makes without a mode (0755 under umask 022).
        var segments = Directory.CreateDirectory(Path.Combine(_scratch.FullName, "segments"), (UnixFileMode)0b111_101_101);
        using var first = Keys(new AuditOptions());
        using var second = Keys(new AuditOptions());

        Assert.Equal(first.KeyId, second.KeyId);
        Assert.True(File.Exists(Path.Combine(segments.FullName, "audit-signing-key.pem")));
    }

    [Theory]
    [InlineData("audit-signing-key.pem", 0b110_100_100)] // 0644
    [InlineData("audit-hash-key", 0b110_100_000)]        // 0640
    [InlineData("audit-hash-key", 0b110_000_110)]        // 0606
    public void AKeptKeyOthersMayReadOrWrite_IsRefused_WithoutShowingIt(string name, int mode)
    {
        if (OperatingSystem.IsWindows())
        {
            return;
        }
        Keys().Dispose();
        var path = Path.Combine(KeyDirectory, name);
        var key = File.ReadAllText(path).Trim();
        File.SetUnixFileMode(path, (UnixFileMode)mode);

        var refused = Assert.Throws<KeyFileRefusedException>(() => Keys());

        Assert.Equal(KeyFileProblem.FileOpenToOthers, refused.Problem);
        Assert.Equal(path, refused.Path);
        Assert.Contains($"chmod 600 {path}", refused.Message);
        Assert.Contains("GrantSilo:Audit:KeyDirectory", refused.Message);
        Assert.Equal(AuditOptions.SectionName, refused.OptionsName);
        AssertShowsNoKey(refused.Message, key);
    }

    [Theory]
    [InlineData(0b111_111_000)] // 0770
    [InlineData(0b111_101_111)] // 0757
    public void AKeyDirectoryOthersMayWrite_IsRefused_AndNoKeyIsMadeInIt(int mode)
    {
        if (OperatingSystem.IsWindows())
        {
            return;
        }
        Directory.CreateDirectory(KeyDirectory);
        File.SetUnixFileMode(KeyDirectory, (UnixFileMode)mode);

        var refused = Assert.Throws<KeyFileRefusedException>(() => Keys());

        Assert.Equal(KeyFileProblem.DirectoryWritableByOthers, refused.Problem);
        Assert.Contains($"chmod 700 {KeyDirectory}", refused.Message);
        Assert.Empty(Directory.GetFileSystemEntries(KeyDirectory));
    }

    [Fact]
    public void AKeptKeyThatIsASymbolicLink_IsRefused()
    {
        if (OperatingSystem.IsWindows())
        {
            return;
        }
        Keys().Dispose();
        // Someone else's key, linked in where GrantSilo's was.
        var theirs = Path.Combine(_scratch.FullName, "theirs.pem");
        File.Move(SigningKeyPath, theirs);
        File.CreateSymbolicLink(SigningKeyPath, theirs);

        var refused = Assert.Throws<KeyFileRefusedException>(() => Keys());

        Assert.Equal(KeyFileProblem.FileIsSymbolicLink, refused.Problem);
        Assert.Equal(SigningKeyPath, refused.Path);
    }

    [Fact]
    public void AKeptKeyAnotherUserOwns_IsRefused_WithoutShowingIt()
    {
        if (OperatingSystem.IsWindows())
        {
            return;
        }
        Keys().Dispose();
        var key = File.ReadAllText(HashKeyPath).Trim();
        var me = UnixKeyPaths.EffectiveUser();

        var guard = GuardSeeing(HashKeyPath, ownedBy: me + 1);

        var refused = Assert.Throws<KeyFileRefusedException>(() => new AuditKeys(
            Options.Create(new AuditOptions { KeyDirectory = KeyDirectory }), Options.Create(new FileAuditStoreOptions()), guard));

        Assert.Equal(KeyFileProblem.FileNotOwned, refused.Problem);
        Assert.Contains($"uid {me + 1}", refused.Message);
        Assert.Contains($"chown {me} {HashKeyPath}", refused.Message);
        AssertShowsNoKey(refused.Message, key);
    }

    [Fact]
    public void AKeyDirectoryAnotherUserOwns_IsRefused()
    {
        if (OperatingSystem.IsWindows())
        {
            return;
        }
        var me = UnixKeyPaths.EffectiveUser();

        var guard = GuardSeeing(KeyDirectory, ownedBy: me + 1);

        var refused = Assert.Throws<KeyFileRefusedException>(() => new AuditKeys(
            Options.Create(new AuditOptions { KeyDirectory = KeyDirectory }), Options.Create(new FileAuditStoreOptions()), guard));

        Assert.Equal(KeyFileProblem.DirectoryNotOwned, refused.Problem);
        Assert.False(File.Exists(SigningKeyPath));
    }

    [Fact]
    public void ConfiguredKeyFiles_AreTheOperatorsAndAreNotChecked()
    {
        if (OperatingSystem.IsWindows())
        {
            return;
        }
        // As a mounted secret often is: group-readable and reached through a symbolic link.
        Keys().Dispose();
        File.SetUnixFileMode(SigningKeyPath, (UnixFileMode)0b110_100_100);
        File.SetUnixFileMode(HashKeyPath, (UnixFileMode)0b110_100_100);
        var linked = Path.Combine(_scratch.FullName, "mounted-signing-key.pem");
        File.CreateSymbolicLink(linked, SigningKeyPath);
        string keyId;
        using (var kept = new AuditKeys(Options.Create(new AuditOptions { KeyDirectory = Path.Combine(_scratch.FullName, "elsewhere") }), Options.Create(new FileAuditStoreOptions()), guard: null))
        {
            keyId = kept.KeyId;
        }

        using var configured = Keys(new AuditOptions { SigningKeyFile = linked, HashKeyFile = HashKeyPath });

        Assert.NotEqual(keyId, configured.KeyId);
        Assert.Equal(AuditChainKeyIdOf(SigningKeyPath), configured.KeyId);
    }

    private static string AuditChainKeyIdOf(string pem)
    {
        using var key = System.Security.Cryptography.ECDsa.Create();
        key.ImportFromPem(File.ReadAllText(pem));
        return AuditChain.KeyId(key);
    }

    private static void AssertShowsNoKey(string message, string key)
    {
        // The hash key is one base64 line; the signing key a PEM whose body lines are base64.
        foreach (var line in key.Split('\n').Where(l => !l.StartsWith("-----", StringComparison.Ordinal) && l.Length > 0))
        {
            Assert.DoesNotContain(line.Trim(), message);
        }
    }

    // This process's guard over real files, except that it sees one path as owned by another user.
    [UnsupportedOSPlatform("windows")]
    private static KeyFileGuard GuardSeeing(string path, uint ownedBy)
        => new(p => UnixKeyPaths.Facts(p) is { } real && p == path ? real with { Owner = ownedBy } : UnixKeyPaths.Facts(p), UnixKeyPaths.EffectiveUser());
}
