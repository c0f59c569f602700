namespace GrantSilo.Identity;

/// <summary>
/// Whose key GrantSilo is about to use, for the refusal: <paramref name="Key"/> names it in a sentence ("the audit
/// signing key"), <paramref name="Instead"/> says how to keep it elsewhere ("set GrantSilo:Audit:KeyDirectory to ..."),
/// and <paramref name="OptionsName"/>/<paramref name="OptionsType"/> are the options the refusal is a failure of.
/// </summary>
internal sealed record KeyFileUse(string Key, string Instead, string OptionsName, Type OptionsType);

/// <summary>
/// Checks a key file GrantSilo made and keeps, and its directory, before the key is used, so that no other user of the
/// host can have read it or put a key of their own in its place: the directory and the file must belong to the user the
/// process runs as (effective uid; so a process running as root uses only root's), the directory must not be writable by
/// group or others (whoever can write it can rename the key away and put theirs there), and the file must be a regular
/// file, not a symbolic link, that group and others have no permission on. Each failure is a
/// <see cref="KeyFileRefusedException"/> saying what to run. Unix only: on Windows there is no guard.
/// </summary>
/// <param name="facts">What a path is (not following a symbolic link); <see cref="UnixKeyPaths.Facts"/> outside tests.</param>
/// <param name="effectiveUser">The effective uid the files must belong to.</param>
internal sealed class KeyFileGuard(Func<string, KeyPathFacts?> facts, uint effectiveUser)
{
    private const UnixFileMode WritableByOthers = UnixFileMode.GroupWrite | UnixFileMode.OtherWrite;

    // As OpenSSH asks of a private key: no permission at all for group or others.
    private const UnixFileMode OpenToOthers =
        UnixFileMode.GroupRead | UnixFileMode.GroupWrite | UnixFileMode.GroupExecute
        | UnixFileMode.OtherRead | UnixFileMode.OtherWrite | UnixFileMode.OtherExecute;

    /// <summary>The guard of this process's files (statx and geteuid); null on Windows, where nothing is checked.</summary>
    public static KeyFileGuard? ForThisProcess { get; } = OperatingSystem.IsWindows() ? null : new(UnixKeyPaths.Facts, UnixKeyPaths.EffectiveUser());

    /// <summary>Throws unless <paramref name="directory"/> is a directory of this user's that group and others cannot write.</summary>
    public void EnsureDirectory(string directory, KeyFileUse use)
    {
        directory = Plain(directory);
        var found = facts(directory) ?? throw new DirectoryNotFoundException($"The directory {directory} of {use.Key} does not exist.");
        if (found.Kind == KeyPathKind.SymbolicLink)
        {
            throw Refuse(KeyFileProblem.DirectoryIsSymbolicLink, directory, use,
                $"{Capitalized(use.Key)} is kept in {directory}, which is a symbolic link: whoever can change the link can point it at a directory of theirs. Replace it with a directory of its own ('rm {directory} && mkdir -m 700 {directory}'), or {use.Instead}.");
        }
        if (found.Kind != KeyPathKind.Directory)
        {
            throw Refuse(KeyFileProblem.NotADirectory, directory, use,
                $"{Capitalized(use.Key)} is to be kept in {directory}, which is not a directory: move it away, or {use.Instead}.");
        }
        if (found.Owner is { } owner && owner != effectiveUser)
        {
            throw Refuse(KeyFileProblem.DirectoryNotOwned, directory, use,
                $"{Capitalized(use.Key)} is kept in {directory}, which belongs to uid {owner}, not to uid {effectiveUser} that GrantSilo runs as: its owner could put a key of their own in its place. "
                + $"If this user should own it, run 'chown {effectiveUser} {directory} && chmod 700 {directory}' as root; otherwise {use.Instead}.");
        }
        if ((found.Mode & WritableByOthers) != 0)
        {
            throw Refuse(KeyFileProblem.DirectoryWritableByOthers, directory, use,
                $"{Capitalized(use.Key)} is kept in {directory}, which group or others may write (mode {Octal(found.Mode)}): they could rename the key away and put theirs in its place. Run 'chmod 700 {directory}', or {use.Instead}.");
        }
    }

    /// <summary>
    /// Throws unless <paramref name="file"/> is a regular file of this user's that group and others have no permission on.
    /// Check its directory first (<see cref="EnsureDirectory"/>): only then can no one else swap the file after this check.
    /// </summary>
    public void EnsureFile(string file, KeyFileUse use)
    {
        file = Plain(file);
        var found = facts(file) ?? throw new FileNotFoundException($"The file {file} of {use.Key} does not exist.", file);
        if (found.Kind == KeyPathKind.SymbolicLink)
        {
            throw Refuse(KeyFileProblem.FileIsSymbolicLink, file, use,
                $"The file of {use.Key}, {file}, is a symbolic link; GrantSilo keeps its keys in regular files it made itself. Replace the link with the file it points to (owner-only, 'chmod 600'), or {use.Instead}.");
        }
        if (found.Kind != KeyPathKind.RegularFile)
        {
            throw Refuse(KeyFileProblem.NotARegularFile, file, use,
                $"The file of {use.Key}, {file}, is not a regular file: move it away to have a key made, or {use.Instead}.");
        }
        if (found.Owner is { } owner && owner != effectiveUser)
        {
            throw Refuse(KeyFileProblem.FileNotOwned, file, use,
                $"The file of {use.Key}, {file}, belongs to uid {owner}, not to uid {effectiveUser} that GrantSilo runs as: it may not be the key GrantSilo made. "
                + $"If it is, run 'chown {effectiveUser} {file} && chmod 600 {file}' as root; otherwise {use.Instead}.");
        }
        if ((found.Mode & OpenToOthers) != 0)
        {
            throw Refuse(KeyFileProblem.FileOpenToOthers, file, use,
                $"The file of {use.Key}, {file}, is open to group or others (mode {Octal(found.Mode)}): they may have read or changed it. Run 'chmod 600 {file}' and, if someone else may have read it, replace the key; or {use.Instead}.");
        }
    }

    // A full path without a trailing separator: statx follows a symbolic link named with one ("link/") even when told not to.
    private static string Plain(string path) => Path.TrimEndingDirectorySeparator(Path.GetFullPath(path));

    private static KeyFileRefusedException Refuse(KeyFileProblem problem, string path, KeyFileUse use, string message)
        => new(problem, path, use.OptionsName, use.OptionsType, message);

    private static string Octal(UnixFileMode mode) => "0" + Convert.ToString((int)mode, 8).PadLeft(3, '0');

    private static string Capitalized(string text) => text.Length == 0 ? text : char.ToUpperInvariant(text[0]) + text[1..];
}
