using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace GrantSilo.Grains.Audit;

internal static class NativeMethods
{
    /// <summary>fdatasync(2): flushes a file's data, and only the metadata needed to read it back.</summary>
    // A runtime-marshalled import (SafeHandle in, int out): LibraryImport would need this assembly to allow unsafe code.
#pragma warning disable SYSLIB1054
    [DllImport("libc", EntryPoint = "fdatasync", SetLastError = true)]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    internal static extern int FDataSync(SafeFileHandle fd);
#pragma warning restore SYSLIB1054
}
