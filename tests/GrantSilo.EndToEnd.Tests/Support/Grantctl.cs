using System.Diagnostics;

namespace GrantSilo.EndToEnd.Tests.Support;

/// <summary>
/// Runs the built <c>grantctl</c> as a user does, with its own config file (its saved login) in a temporary folder.
/// A token given to a run stands for <c>GRANTCTL_TOKEN</c>; without one the saved login is used.
/// </summary>
public sealed class Grantctl : IDisposable
{
    private readonly DirectoryInfo _home = Directory.CreateTempSubdirectory("grantctl-test-");

    /// <summary>The folder it keeps its config file in (tests put token and credential files here too).</summary>
    public string Home => _home.FullName;

    /// <summary>Its config file (the saved login).</summary>
    public string ConfigFile => Path.Combine(_home.FullName, "config.json");

    /// <summary>More environment variables for every run (for example a proxy that records what grantctl sends).</summary>
    public Dictionary<string, string> Environment { get; } = new(StringComparer.Ordinal);

    public void Dispose() => _home.Delete(recursive: true);

    /// <summary>One run to its end (at most 60 s).</summary>
    public async Task<GrantctlResult> RunAsync(string? token, params string[] arguments)
    {
        using var process = Start(token, arguments);
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var output = process.StandardOutput.ReadToEndAsync(deadline.Token);
        var errors = process.StandardError.ReadToEndAsync(deadline.Token);
        await process.WaitForExitAsync(deadline.Token);
        return new GrantctlResult(process.ExitCode, await output, await errors);
    }

    /// <summary>A run left going (for <c>watch</c>): the caller reads its output and stops it.</summary>
    public Process Start(string? token, params string[] arguments)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(ChildProcess.BuiltDll("GrantctlDll"));
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }
        start.Environment["GRANTCTL_CONFIG"] = ConfigFile;
        start.Environment.Remove("GRANTCTL_URL");
        start.Environment.Remove("GRANTCTL_CREDENTIAL");
        if (token is not null)
        {
            start.Environment["GRANTCTL_TOKEN"] = token;
        }
        else
        {
            start.Environment.Remove("GRANTCTL_TOKEN");
        }
        foreach (var (name, value) in Environment)
        {
            start.Environment[name] = value;
        }
        return Process.Start(start)!;
    }
}

/// <summary>What a grantctl run left: its exit code and what it printed.</summary>
public sealed record GrantctlResult(int Exit, string Output, string Errors)
{
    public override string ToString() => $"exit {Exit}\n{Output}\n{Errors}";
}
