using System.Runtime.InteropServices;
using System.Runtime.Versioning;
using System.Text;

namespace GrantSilo.Identity;

/// <summary>
/// Reads a path's <see cref="KeyPathFacts"/> and the process's effective user on Unix. .NET reads a file's mode but not
/// its owner, so on Linux both come from glibc's statx(2) (one struct layout on every architecture) and geteuid(2).
/// </summary>
[UnsupportedOSPlatform("windows")]
internal static class UnixKeyPaths
{
    private const int AtFdCwd = -100;
    private const int AtSymlinkNoFollow = 0x100;
    private const uint StatxType = 0x1;
    private const uint StatxMode = 0x2;
    private const uint StatxUid = 0x8;
    private const int ENOENT = 2;
    private const int ENOTDIR = 20;

    // struct statx is 256 bytes; these offsets are fixed by the kernel ABI, the same on every architecture.
    private const int StatxSize = 256;
    private const int StxMaskOffset = 0;
    private const int StxUidOffset = 20;
    private const int StxModeOffset = 28;

    private const int FileTypeMask = 0xF000;
    private const int RegularFileType = 0x8000;
    private const int DirectoryType = 0x4000;
    private const int SymbolicLinkType = 0xA000;

    private static bool _noStatx;

    /// <summary>The process's effective user id.</summary>
    public static uint EffectiveUser() => NativeMethods.GetEffectiveUserId();

    /// <summary>What <paramref name="path"/> is, without following a last symbolic link; null when nothing is there.</summary>
    public static KeyPathFacts? Facts(string path)
    {
        if (OperatingSystem.IsLinux() && !_noStatx)
        {
            try
            {
                return Statx(path);
            }
            catch (EntryPointNotFoundException)
            {
                // A C library without statx (an old musl): the owner cannot be read, the rest still is.
                _noStatx = true;
            }
        }
        return Managed(path);
    }

    /// <summary>By statx(2): the kind, the owner and the mode.</summary>
    internal static KeyPathFacts? Statx(string path)
    {
        var buffer = new byte[StatxSize];
        var wanted = StatxType | StatxMode | StatxUid;
        // The path as the C string the kernel reads: UTF-8, NUL-terminated.
        if (NativeMethods.Statx(AtFdCwd, Encoding.UTF8.GetBytes(path + '\0'), AtSymlinkNoFollow, wanted, buffer) != 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            return errno is ENOENT or ENOTDIR
                ? null
                : throw new IOException($"statx of {path} failed: {Marshal.GetPInvokeErrorMessage(errno)} (errno {errno}).");
        }
        var mask = BitConverter.ToUInt32(buffer, StxMaskOffset);
        if ((mask & wanted) != wanted)
        {
            throw new IOException($"statx of {path} gave no type, mode or owner (mask 0x{mask:x}).");
        }
        var mode = BitConverter.ToUInt16(buffer, StxModeOffset);
        var kind = (mode & FileTypeMask) switch
        {
            RegularFileType => KeyPathKind.RegularFile,
            DirectoryType => KeyPathKind.Directory,
            SymbolicLinkType => KeyPathKind.SymbolicLink,
            _ => KeyPathKind.Other,
        };
        return new KeyPathFacts(kind, BitConverter.ToUInt32(buffer, StxUidOffset), (UnixFileMode)(mode & 0xFFF));
    }

    /// <summary>By .NET alone (macOS, other Unix systems): the kind and the mode, no owner.</summary>
    internal static KeyPathFacts? Managed(string path)
    {
        var info = new FileInfo(path);
        if (info.LinkTarget is not null)
        {
            return new KeyPathFacts(KeyPathKind.SymbolicLink, null, info.UnixFileMode);
        }
        if (Directory.Exists(path))
        {
            return new KeyPathFacts(KeyPathKind.Directory, null, new DirectoryInfo(path).UnixFileMode);
        }
        // .NET tells a regular file from a device or a pipe by nothing public; those are not where a key is kept anyway.
        return info.Exists ? new KeyPathFacts(KeyPathKind.RegularFile, null, info.UnixFileMode) : null;
    }

    private static class NativeMethods
    {
        // Runtime-marshalled imports: LibraryImport would need this assembly to allow unsafe code.
#pragma warning disable SYSLIB1054
        [DllImport("libc", EntryPoint = "statx", SetLastError = true)]
        [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
        internal static extern int Statx(int dirfd, byte[] path, int flags, uint mask, [Out] byte[] buffer);

        [DllImport("libc", EntryPoint = "geteuid")]
        [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
        internal static extern uint GetEffectiveUserId();
#pragma warning restore SYSLIB1054
    }
}
