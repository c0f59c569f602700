using System.Text.Json;

namespace GrantSilo.Grantctl;

/// <summary>
/// Where grantctl finds GrantSilo and who it calls as: <c>--url</c>, then <c>GRANTCTL_URL</c>, then the saved login; the
/// token from <c>GRANTCTL_TOKEN</c>, then the saved login. The login is saved by <c>grantctl login</c> in
/// <c>GRANTCTL_CONFIG</c> or <c>~/.config/grantctl/config.json</c>, readable by its owner only.
/// </summary>
internal sealed record Settings(string? Url, string? Token)
{
    public const string DefaultUrl = "http://127.0.0.1:8080";

    public static string File => Environment.GetEnvironmentVariable("GRANTCTL_CONFIG") is { Length: > 0 } configured
        ? configured
        : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".config", "grantctl", "config.json");

    public static Settings Load()
    {
        var saved = System.IO.File.Exists(File) ? JsonSerializer.Deserialize<Settings>(System.IO.File.ReadAllText(File), JsonSerializerOptions.Web) : null;
        return new Settings(
            Environment.GetEnvironmentVariable("GRANTCTL_URL") is { Length: > 0 } url ? url : saved?.Url,
            Environment.GetEnvironmentVariable("GRANTCTL_TOKEN") is { Length: > 0 } token ? token : saved?.Token);
    }

    public void Save()
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(File))!);
        WriteSecretAsync(File, JsonSerializer.Serialize(this, JsonSerializerOptions.Web), CancellationToken.None).GetAwaiter().GetResult();
    }

    /// <summary>Writes <paramref name="secret"/> to <paramref name="path"/>, made readable and writable by its owner only before a byte is written.</summary>
    public static async Task WriteSecretAsync(string path, string secret, CancellationToken cancellationToken)
    {
        var options = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write, Share = FileShare.None };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }
        await using var stream = new FileStream(path, options);
        if (!OperatingSystem.IsWindows())
        {
            // An existing file keeps its mode when it is opened: narrow it before the secret goes in.
            System.IO.File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }
        await using var writer = new StreamWriter(stream);
        await writer.WriteAsync(secret.AsMemory(), cancellationToken);
    }

    public override string ToString() => $"Settings {{ Url = {Url}, Token = {(Token is null ? "none" : "****")} }}";
}
