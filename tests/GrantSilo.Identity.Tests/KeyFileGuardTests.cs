using System.Runtime.InteropServices;
using Microsoft.Extensions.Options;

namespace GrantSilo.Identity.Tests;

/// <summary>
/// The key-file guard: which owners, modes and kinds of a key's directory and file it refuses. The first tests feed it any
/// owner and mode (no root needed); the last read real files through statx(2) and geteuid(2).
/// </summary>
public sealed class KeyFileGuardTests : IDisposable
{
    private const uint Me = 1000;
    private static readonly string Dir = Path.GetFullPath("/keys");
    private static readonly string KeyPath = Path.Combine(Dir, "the-key");

    private static readonly KeyFileUse Use = new("the test key", "set Test:KeyDirectory elsewhere", "Test", typeof(DevelopmentIssuerOptions));

    private readonly DirectoryInfo _scratch = Directory.CreateTempSubdirectory("grantsilo-keyfile-guard-");

    public void Dispose() => _scratch.Delete(recursive: true);

    private static KeyFileGuard Guard(KeyPathFacts? found, uint effectiveUser = Me) => new(_ => found, effectiveUser);

    private static KeyPathFacts Facts(KeyPathKind kind, uint? owner, int octalMode) => new(kind, owner, (UnixFileMode)octalMode);

    [Theory]
    [InlineData(0b111_000_000)] // 0700, as GrantSilo makes it
    [InlineData(0b111_101_000)] // 0750
    [InlineData(0b111_101_101)] // 0755, as a default umask makes a directory
    public void Directory_OfThisUser_ThatOnlyItMayWrite_Passes(int mode)
        => Guard(Facts(KeyPathKind.Directory, Me, mode)).EnsureDirectory(Dir, Use);

    [Theory]
    [InlineData(0b111_111_000)]    // 0770
    [InlineData(0b111_101_111)]    // 0757
    [InlineData(0b111_010_000)]    // 0720: group write alone
    [InlineData(0b111_000_010)]    // 0702: others' write alone
    [InlineData(0b1_111_111_111)]  // 01777: sticky, like /tmp; a missing key's name could still be taken
    public void Directory_WritableByGroupOrOthers_IsRefused_WithTheChmodToRun(int mode)
    {
        var refused = Assert.Throws<KeyFileRefusedException>(() => Guard(Facts(KeyPathKind.Directory, Me, mode)).EnsureDirectory(Dir, Use));
        Assert.Equal(KeyFileProblem.DirectoryWritableByOthers, refused.Problem);
        Assert.Equal(Dir, refused.Path);
        Assert.Contains($"chmod 700 {Dir}", refused.Message);
        Assert.Contains("0" + Convert.ToString(mode, 8), refused.Message);
        Assert.Contains("set Test:KeyDirectory elsewhere", refused.Message);
    }

    [Fact]
    public void Directory_OfAnotherUser_IsRefused_EvenIfOnlyItsOwnerMayWriteIt()
    {
        var refused = Assert.Throws<KeyFileRefusedException>(() => Guard(Facts(KeyPathKind.Directory, 1001, 0b111_000_000)).EnsureDirectory(Dir, Use));
        Assert.Equal(KeyFileProblem.DirectoryNotOwned, refused.Problem);
        Assert.Contains("uid 1001", refused.Message);
        Assert.Contains($"chown {Me} {Dir}", refused.Message);
    }

    [Fact]
    public void Root_UsesOnlyWhatRootOwns()
    {
        Guard(Facts(KeyPathKind.Directory, 0, 0b111_000_000), effectiveUser: 0).EnsureDirectory(Dir, Use);
        Guard(Facts(KeyPathKind.RegularFile, 0, 0b110_000_000), effectiveUser: 0).EnsureFile(KeyPath, Use);

        // A user's directory or file could be swapped by that user under a silo running as root.
        Assert.Equal(KeyFileProblem.DirectoryNotOwned, Assert.Throws<KeyFileRefusedException>(
            () => Guard(Facts(KeyPathKind.Directory, Me, 0b111_000_000), effectiveUser: 0).EnsureDirectory(Dir, Use)).Problem);
        Assert.Equal(KeyFileProblem.FileNotOwned, Assert.Throws<KeyFileRefusedException>(
            () => Guard(Facts(KeyPathKind.RegularFile, Me, 0b110_000_000), effectiveUser: 0).EnsureFile(KeyPath, Use)).Problem);

        // And a user's silo does not take root's.
        Assert.Equal(KeyFileProblem.DirectoryNotOwned, Assert.Throws<KeyFileRefusedException>(
            () => Guard(Facts(KeyPathKind.Directory, 0, 0b111_000_000)).EnsureDirectory(Dir, Use)).Problem);
    }

    [Theory]
    [InlineData((int)KeyPathKind.SymbolicLink, KeyFileProblem.DirectoryIsSymbolicLink)]
    [InlineData((int)KeyPathKind.RegularFile, KeyFileProblem.NotADirectory)]
    [InlineData((int)KeyPathKind.Other, KeyFileProblem.NotADirectory)]
    public void Directory_ThatIsNoRealDirectory_IsRefused(int kind, KeyFileProblem problem)
    {
        // Owned by this user and owner-only, so only the kind can refuse it.
        var refused = Assert.Throws<KeyFileRefusedException>(() => Guard(Facts((KeyPathKind)kind, Me, 0b111_000_000)).EnsureDirectory(Dir, Use));
        Assert.Equal(problem, refused.Problem);
        Assert.Contains(Dir, refused.Message);
    }

    [Theory]
    [InlineData(0b110_000_000)] // 0600, as GrantSilo makes it
    [InlineData(0b100_000_000)] // 0400
    public void File_OfThisUser_OwnerOnly_Passes(int mode)
        => Guard(Facts(KeyPathKind.RegularFile, Me, mode)).EnsureFile(KeyPath, Use);

    [Theory]
    [InlineData(0b110_100_000)] // 0640
    [InlineData(0b110_000_100)] // 0604
    [InlineData(0b110_010_000)] // 0620
    [InlineData(0b110_000_010)] // 0602
    [InlineData(0b110_001_000)] // 0610
    [InlineData(0b110_000_001)] // 0601
    [InlineData(0b110_110_110)] // 0666
    public void File_OpenToGroupOrOthers_IsRefused_WithTheChmodToRun(int mode)
    {
        var refused = Assert.Throws<KeyFileRefusedException>(() => Guard(Facts(KeyPathKind.RegularFile, Me, mode)).EnsureFile(KeyPath, Use));
        Assert.Equal(KeyFileProblem.FileOpenToOthers, refused.Problem);
        Assert.Equal(KeyPath, refused.Path);
        Assert.Contains($"chmod 600 {KeyPath}", refused.Message);
        Assert.Contains("0" + Convert.ToString(mode, 8), refused.Message);
    }

    [Fact]
    public void File_OfAnotherUser_IsRefused_EvenIfOwnerOnly()
    {
        var refused = Assert.Throws<KeyFileRefusedException>(() => Guard(Facts(KeyPathKind.RegularFile, 1001, 0b110_000_000)).EnsureFile(KeyPath, Use));
        Assert.Equal(KeyFileProblem.FileNotOwned, refused.Problem);
        Assert.Contains("uid 1001", refused.Message);
        Assert.Contains($"chown {Me} {KeyPath}", refused.Message);
    }

    [Theory]
    [InlineData((int)KeyPathKind.SymbolicLink, KeyFileProblem.FileIsSymbolicLink)]
    [InlineData((int)KeyPathKind.Directory, KeyFileProblem.NotARegularFile)]
    [InlineData((int)KeyPathKind.Other, KeyFileProblem.NotARegularFile)]
    public void File_ThatIsNoRegularFile_IsRefused(int kind, KeyFileProblem problem)
    {
        var refused = Assert.Throws<KeyFileRefusedException>(() => Guard(Facts((KeyPathKind)kind, Me, 0b110_000_000)).EnsureFile(KeyPath, Use));
        Assert.Equal(problem, refused.Problem);
    }

    [Fact]
    public void AnOwnerThePlatformCannotRead_IsNotChecked_ButTheModeStillIs()
    {
        Guard(Facts(KeyPathKind.Directory, null, 0b111_000_000)).EnsureDirectory(Dir, Use);
        Guard(Facts(KeyPathKind.RegularFile, null, 0b110_000_000)).EnsureFile(KeyPath, Use);
        Assert.Throws<KeyFileRefusedException>(() => Guard(Facts(KeyPathKind.RegularFile, null, 0b110_100_000)).EnsureFile(KeyPath, Use));
    }

    [Fact]
    public void ARefusal_IsAnOptionsFailure_OfTheOptionsItNames()
    {
        OptionsValidationException refused = Assert.Throws<KeyFileRefusedException>(() => Guard(Facts(KeyPathKind.RegularFile, Me, 0b110_100_000)).EnsureFile(KeyPath, Use));
        Assert.Equal("Test", refused.OptionsName);
        Assert.Equal(typeof(DevelopmentIssuerOptions), refused.OptionsType);
        Assert.Single(refused.Failures);
    }

    [Fact]
    public void ThisProcess_ReadsTheKindModeAndOwnerOfRealFiles()
    {
        if (OperatingSystem.IsWindows())
        {
            Assert.Null(KeyFileGuard.ForThisProcess);
            return;
        }
        var directory = Path.Combine(_scratch.FullName, "keys");
        Directory.CreateDirectory(directory);
        File.SetUnixFileMode(directory, (UnixFileMode)0b111_101_000);
        var file = Path.Combine(directory, "key");
        File.WriteAllText(file, "not a key");
        File.SetUnixFileMode(file, (UnixFileMode)0b110_100_000);
        var link = Path.Combine(directory, "link");
        File.CreateSymbolicLink(link, file);

        var me = UnixKeyPaths.EffectiveUser();
        if (OperatingSystem.IsLinux())
        {
            // What the kernel says of this process: "Uid: real effective saved filesystem".
            var uids = File.ReadLines("/proc/self/status").Single(l => l.StartsWith("Uid:", StringComparison.Ordinal)).Split('\t', StringSplitOptions.RemoveEmptyEntries);
            Assert.Equal(uint.Parse(uids[2]), me);
        }
        Assert.Equal(new KeyPathFacts(KeyPathKind.Directory, me, (UnixFileMode)0b111_101_000), UnixKeyPaths.Facts(directory));
        Assert.Equal(new KeyPathFacts(KeyPathKind.RegularFile, me, (UnixFileMode)0b110_100_000), UnixKeyPaths.Facts(file));
        Assert.Equal(KeyPathKind.SymbolicLink, UnixKeyPaths.Facts(link)!.Value.Kind);
        Assert.Equal(KeyPathKind.Other, UnixKeyPaths.Facts("/dev/null")!.Value.Kind);
        Assert.Null(UnixKeyPaths.Facts(Path.Combine(directory, "absent")));
        Assert.Null(UnixKeyPaths.Facts(Path.Combine(file, "under-a-file")));
        if (me == 0)
        {
            // As root (as CI runs): a file given to another user and group reads as that user's, not its group's, and is refused.
            var given = Path.Combine(directory, "given");
            File.WriteAllText(given, "not a key");
            File.SetUnixFileMode(given, UnixFileMode.UserRead | UnixFileMode.UserWrite);
            Assert.Equal(0, Chown(given, 4242, 4343));
            Assert.Equal(4242u, UnixKeyPaths.Facts(given)!.Value.Owner);
            Assert.Equal(KeyFileProblem.FileNotOwned, Assert.Throws<KeyFileRefusedException>(() => KeyFileGuard.ForThisProcess!.EnsureFile(given, Use)).Problem);
        }

        // .NET alone (where there is no statx) agrees on kind and mode, and knows no owner.
        Assert.Equal(new KeyPathFacts(KeyPathKind.Directory, null, (UnixFileMode)0b111_101_000), UnixKeyPaths.Managed(directory));
        Assert.Equal(new KeyPathFacts(KeyPathKind.RegularFile, null, (UnixFileMode)0b110_100_000), UnixKeyPaths.Managed(file));
        Assert.Equal(KeyPathKind.SymbolicLink, UnixKeyPaths.Managed(link)!.Value.Kind);
        Assert.Null(UnixKeyPaths.Managed(Path.Combine(directory, "absent")));
    }

    [Fact]
    public void ThisProcess_RefusesRealFilesOthersMayReadOrWrite_AndPassesOwnerOnlyOnes()
    {
        if (OperatingSystem.IsWindows())
        {
            return;
        }
        var guard = KeyFileGuard.ForThisProcess!;
        var directory = Path.Combine(_scratch.FullName, "keys");
        Directory.CreateDirectory(directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        var file = Path.Combine(directory, "key");
        File.WriteAllText(file, "not a key");
        File.SetUnixFileMode(file, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        guard.EnsureDirectory(directory, Use);
        guard.EnsureFile(file, Use);

        File.SetUnixFileMode(file, (UnixFileMode)0b110_100_100);
        Assert.Equal(KeyFileProblem.FileOpenToOthers, Assert.Throws<KeyFileRefusedException>(() => guard.EnsureFile(file, Use)).Problem);

        File.SetUnixFileMode(directory, (UnixFileMode)0b111_111_101);
        Assert.Equal(KeyFileProblem.DirectoryWritableByOthers, Assert.Throws<KeyFileRefusedException>(() => guard.EnsureDirectory(directory, Use)).Problem);

        var link = Path.Combine(_scratch.FullName, "linked-keys");
        Directory.CreateSymbolicLink(link, directory);
        File.SetUnixFileMode(directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        Assert.Equal(KeyFileProblem.DirectoryIsSymbolicLink, Assert.Throws<KeyFileRefusedException>(() => guard.EnsureDirectory(link, Use)).Problem);
        // Named with a trailing separator, a link would be followed: it is still the link that is checked.
        Assert.Equal(link, Assert.Throws<KeyFileRefusedException>(() => guard.EnsureDirectory(link + Path.DirectorySeparatorChar, Use)).Path);
        Assert.Equal(KeyFileProblem.NotADirectory, Assert.Throws<KeyFileRefusedException>(() => guard.EnsureDirectory(file, Use)).Problem);
        Assert.Equal(KeyFileProblem.NotARegularFile, Assert.Throws<KeyFileRefusedException>(() => guard.EnsureFile(directory, Use)).Problem);
    }

#pragma warning disable SYSLIB1054
    [DllImport("libc", EntryPoint = "chown", SetLastError = true)]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    private static extern int Chown(byte[] path, uint owner, uint group);
#pragma warning restore SYSLIB1054

    private static int Chown(string path, uint owner, uint group) => Chown(System.Text.Encoding.UTF8.GetBytes(path + '\0'), owner, group);
}
