namespace GrantSilo.Identity;

/// <summary>What a path itself is (a symbolic link is not followed).</summary>
internal enum KeyPathKind
{
    RegularFile,
    Directory,
    SymbolicLink,
    Other,
}

/// <summary>
/// A path's kind, owner and permission bits, as lstat would give them. <see cref="Owner"/> is null where .NET can read
/// no owner (a Unix without statx(2)); the owner is then not checked.
/// </summary>
internal readonly record struct KeyPathFacts(KeyPathKind Kind, uint? Owner, UnixFileMode Mode);
