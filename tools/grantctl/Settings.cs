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
        var file = File;
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(file))!);
        // Created empty and owner-only before the token is written into it.
        using (var stream = new FileStream(file, FileMode.Create, FileAccess.Write, FileShare.None))
        {
        }
        if (!OperatingSystem.IsWindows())
        {
            System.IO.File.SetUnixFileMode(file, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }
        System.IO.File.WriteAllText(file, JsonSerializer.Serialize(this, JsonSerializerOptions.Web));
    }

    public override string ToString() => $"Settings {{ Url = {Url}, Token = {(Token is null ? "none" : "****")} }}";
}
