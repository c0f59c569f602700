using System.Diagnostics;
using System.Reflection;
using System.Text;

namespace GrantSilo.EndToEnd.Tests.Support;

/// <summary>
/// A .NET program run as a real child process (<c>dotnet program.dll</c>) with environment settings,
/// its output captured; it can be hard-killed (SIGKILL), paused (SIGSTOP), resumed (SIGCONT) or
/// stopped cleanly (SIGTERM). Disposing kills it if it still runs.
/// </summary>
internal sealed class ChildProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();

    // Completed (and replaced) whenever a line of output arrives.
    private TaskCompletionSource _outputChanged = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private ChildProcess(string name, string program, Process process)
    {
        Name = name;
        Program = program;
        _process = process;
    }

    public string Name { get; }

    /// <summary>The program (dll) the process runs.</summary>
    public string Program { get; }

    public int Id => _process.Id;

    public bool HasExited => _process.HasExited;

    public int ExitCode => _process.ExitCode;

    public string Output
    {
        get
        {
            lock (_output)
            {
                return _output.ToString();
            }
        }
    }

    public static string BuiltDll(string key)
    {
        var path = typeof(ChildProcess).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == key).Value!;
        var full = Path.GetFullPath(path);
        if (!File.Exists(full))
        {
            throw new InvalidOperationException($"{full} does not exist; build the end-to-end test project (dotnet build tests/GrantSilo.EndToEnd.Tests), which builds it.");
        }
        return full;
    }

    public static ChildProcess Start(string name, string dll, IReadOnlyDictionary<string, string> environment, params string[] arguments)
    {
        var dotnet = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host && File.Exists(host) ? host : "dotnet";
        var info = new ProcessStartInfo(dotnet)
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = Path.GetDirectoryName(dll)!,
        };
        info.ArgumentList.Add(dll);
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }
        // The child gets exactly the settings given, not the test host's DOTNET_ENVIRONMENT and the like.
        foreach (var key in info.Environment.Keys.Where(k => k.StartsWith("GrantSilo", StringComparison.OrdinalIgnoreCase) || k.EndsWith("_ENVIRONMENT", StringComparison.Ordinal)).ToList())
        {
            info.Environment.Remove(key);
        }
        // Up to five processes share the test machine's cores: each collects garbage on the workstation
        // collector, not the server collector the silo host is built with (a heap and threads per core).
        info.Environment["DOTNET_gcServer"] = "0";
        // Each process writes its own audit segments (one process writes a directory), unless the test names one.
        info.Environment["GrantSilo__Audit__File__Directory"] = Path.Combine(Path.GetTempPath(), "grantsilo-e2e-audit", $"{name}-{Guid.NewGuid():N}");
        foreach (var (key, value) in environment)
        {
            info.Environment[key] = value;
        }
        var process = new Process { StartInfo = info, EnableRaisingEvents = true };
        var child = new ChildProcess(name, dll, process);
        process.OutputDataReceived += (_, e) => child.Append(e.Data);
        process.ErrorDataReceived += (_, e) => child.Append(e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return child;
    }

    /// <summary>Waits until the output contains <paramref name="text"/>; fails with the output if the process exits or the deadline passes.</summary>
    public async Task WaitForOutputAsync(string text, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            Task changed;
            lock (_output)
            {
                if (_output.ToString().Contains(text, StringComparison.Ordinal))
                {
                    return;
                }
                changed = _outputChanged.Task;
            }
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"{Name} exited with code {_process.ExitCode} before printing '{text}'. Output:\n{Output}");
            }
            var left = deadline - DateTime.UtcNow;
            if (left <= TimeSpan.Zero)
            {
                throw new TimeoutException($"{Name} did not print '{text}' within {timeout.TotalSeconds:0} s. Output:\n{Output}");
            }
            // Wakes on the next line of output or on exit; the deadline only bounds the wait.
            await Task.WhenAny(changed, _process.WaitForExitAsync(), Task.Delay(left));
        }
    }

    public async Task<bool> WaitForExitAsync(TimeSpan timeout)
    {
        using var cancellation = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(cancellation.Token);
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    /// <summary>SIGKILL: no clean-up, no goodbye to the cluster.</summary>
    public void Kill()
    {
        if (!_process.HasExited)
        {
            _process.Kill();
        }
    }

    /// <summary>SIGSTOP: the process keeps its memory and sockets but runs nothing until resumed.</summary>
    public Task PauseAsync() => SignalAsync("STOP");

    /// <summary>SIGCONT.</summary>
    public Task ResumeAsync() => SignalAsync("CONT");

    /// <summary>SIGTERM, then waits for a clean exit; kills and fails if it takes longer than <paramref name="timeout"/>.</summary>
    public async Task StopAsync(TimeSpan timeout)
    {
        if (_process.HasExited)
        {
            return;
        }
        await SignalAsync("TERM");
        if (!await WaitForExitAsync(timeout))
        {
            Kill();
            throw new TimeoutException($"{Name} did not stop within {timeout.TotalSeconds:0} s of SIGTERM. Output:\n{Output}");
        }
    }

    private async Task SignalAsync(string signal)
    {
        using var kill = Process.Start(new ProcessStartInfo("kill", ["-" + signal, Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]) { UseShellExecute = false })!;
        await kill.WaitForExitAsync();
        if (kill.ExitCode != 0)
        {
            throw new InvalidOperationException($"kill -{signal} {Id} ({Name}) failed with exit code {kill.ExitCode}.");
        }
    }

    private void Append(string? line)
    {
        if (line is null)
        {
            return;
        }
        TaskCompletionSource changed;
        lock (_output)
        {
            _output.AppendLine(line);
            changed = _outputChanged;
            _outputChanged = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }
        changed.TrySetResult();
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (!_process.HasExited)
            {
                // SIGKILL ends a paused (stopped) process too.
                _process.Kill();
                await WaitForExitAsync(TimeSpan.FromSeconds(10));
            }
        }
        catch (InvalidOperationException)
        {
            // Already gone.
        }
        _process.Dispose();
    }
}
