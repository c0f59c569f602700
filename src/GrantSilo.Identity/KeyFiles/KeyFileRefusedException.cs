using Microsoft.Extensions.Options;

namespace GrantSilo.Identity;

/// <summary>What is wrong with a key file GrantSilo made and keeps, or with the directory it is kept in.</summary>
public enum KeyFileProblem
{
    /// <summary>The key's directory is a symbolic link.</summary>
    DirectoryIsSymbolicLink,

    /// <summary>The key's directory is not a directory.</summary>
    NotADirectory,

    /// <summary>The key's directory belongs to another user than the one GrantSilo runs as.</summary>
    DirectoryNotOwned,

    /// <summary>Group or others may write the key's directory, so they could put a key of theirs in place of GrantSilo's.</summary>
    DirectoryWritableByOthers,

    /// <summary>The key file is a symbolic link.</summary>
    FileIsSymbolicLink,

    /// <summary>The key file is not a regular file (a directory, a device, a pipe, a socket).</summary>
    NotARegularFile,

    /// <summary>The key file belongs to another user than the one GrantSilo runs as.</summary>
    FileNotOwned,

    /// <summary>Group or others have some permission on the key file (read, write or execute).</summary>
    FileOpenToOthers,
}

/// <summary>
/// GrantSilo refuses to use a key file it made and keeps (the development issuer's key, the audit log's keys) because
/// another user of the host could have read it or put a key of their own in its place. An options failure, so a host
/// refuses to start with the message (silo-host: exit code 78) rather than crash. The message names the path, the
/// owner or mode found and what to run; never anything of the key.
/// </summary>
public sealed class KeyFileRefusedException : OptionsValidationException
{
    /// <summary>Makes the refusal of <paramref name="path"/>, a failure of the options <paramref name="optionsName"/>.</summary>
    public KeyFileRefusedException(KeyFileProblem problem, string path, string optionsName, Type optionsType, string message)
        : base(optionsName, optionsType, [message])
    {
        Problem = problem;
        Path = path;
    }

    /// <summary>What is wrong.</summary>
    public KeyFileProblem Problem { get; }

    /// <summary>The directory or file that is refused.</summary>
    public string Path { get; }
}
