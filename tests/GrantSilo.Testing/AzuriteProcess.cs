using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace GrantSilo.Testing.Azurite;

/// <summary>
/// Runs Azurite's table service (<c>node_modules/.bin/azurite-table</c>, installed by <c>npm ci</c> at the repository
/// root) on a free loopback port with in-memory persistence, and stops it on dispose. Depends on nothing but the BCL so
/// test and benchmark projects can link this file.
/// </summary>
public sealed class AzuriteProcess : IAsyncDisposable
{
    /// <summary>The account name of Azurite's development account.</summary>
    public const string AccountName = "devstoreaccount1";

    /// <summary>The well-known key of Azurite's development account.</summary>
    public const string AccountKey = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

    private const string FixHint = "Run `npm ci` at the repository root (it installs Azurite from package.json), then run the tests again.";

    private readonly Process _process;
    private readonly StringBuilder _output;
    private readonly string _workspace;

    private AzuriteProcess(Process process, StringBuilder output, string workspace, int port)
    {
        _process = process;
        _output = output;
        _workspace = workspace;
        Port = port;
    }

    /// <summary>Gets the loopback port the table service listens on.</summary>
    public int Port { get; }

    /// <summary>Gets the table endpoint, for example <c>http://127.0.0.1:12345/devstoreaccount1</c>.</summary>
    public Uri TableEndpoint => new($"http://127.0.0.1:{Port}/{AccountName}");

    /// <summary>Gets a connection string for the development account on this Azurite.</summary>
    public string ConnectionString =>
        $"DefaultEndpointsProtocol=http;AccountName={AccountName};AccountKey={AccountKey};TableEndpoint={TableEndpoint};";

    /// <summary>Starts Azurite and waits until it accepts connections, or throws an exception that says how to fix it.</summary>
    /// <param name="repositoryRoot">Where <c>node_modules</c> is; by default the directory holding <c>GrantSilo.sln</c>.</param>
    /// <param name="startTimeout">How long to wait for Azurite to accept connections (default 60 s).</param>
    /// <param name="cancellationToken">Cancels the wait.</param>
    public static async Task<AzuriteProcess> StartAsync(string? repositoryRoot = null, TimeSpan? startTimeout = null, CancellationToken cancellationToken = default)
    {
        var root = repositoryRoot ?? FindRepositoryRoot();
        var executable = Path.Combine(root, "node_modules", ".bin", OperatingSystem.IsWindows() ? "azurite-table.cmd" : "azurite-table");
        if (!File.Exists(executable))
        {
            throw new InvalidOperationException($"Azurite is not installed: {executable} does not exist. {FixHint}");
        }

        var port = LoopbackPorts.Reserve();
        var workspace = Directory.CreateTempSubdirectory("azurite-").FullName;
        var startInfo = new ProcessStartInfo(executable)
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = workspace,
        };
        foreach (var argument in new[]
        {
            "--tableHost", "127.0.0.1", "--tablePort", port.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "--inMemoryPersistence", "--skipApiVersionCheck", "--loose", "--disableTelemetry", "--silent",
        })
        {
            startInfo.ArgumentList.Add(argument);
        }

        var output = new StringBuilder();
        var process = new Process { StartInfo = startInfo, EnableRaisingEvents = true };
        process.OutputDataReceived += (_, e) => Append(output, e.Data);
        process.ErrorDataReceived += (_, e) => Append(output, e.Data);
        try
        {
            process.Start();
        }
        catch (Exception exception) when (exception is System.ComponentModel.Win32Exception or InvalidOperationException)
        {
            process.Dispose();
            throw new InvalidOperationException($"Azurite could not be started from {executable}: {exception.Message}. Node.js must be on PATH. {FixHint}", exception);
        }

        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var azurite = new AzuriteProcess(process, output, workspace, port);
        try
        {
            await azurite.WaitUntilListeningAsync(startTimeout ?? TimeSpan.FromSeconds(60), cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            await azurite.DisposeAsync().ConfigureAwait(false);
            throw;
        }

        return azurite;
    }

    /// <summary>Walks up from the test binaries to the directory that holds <c>GrantSilo.sln</c>.</summary>
    public static string FindRepositoryRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "GrantSilo.sln")))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException($"GrantSilo.sln was not found above {AppContext.BaseDirectory}; run the tests from a clone of the repository.");
    }

    /// <summary>Stops Azurite and its child processes.</summary>
    public async ValueTask DisposeAsync()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
                await _process.WaitForExitAsync(timeout.Token).ConfigureAwait(false);
            }
        }
        catch (InvalidOperationException)
        {
            // The process was never started or has already gone.
        }
        finally
        {
            _process.Dispose();
            try
            {
                Directory.Delete(_workspace, recursive: true);
            }
            catch (IOException)
            {
                // A leftover temp folder is harmless.
            }
        }
    }

    private async Task WaitUntilListeningAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"Azurite exited with code {_process.ExitCode} before accepting connections. Output:{Environment.NewLine}{Output}{Environment.NewLine}{FixHint}");
            }

            using var client = new TcpClient();
            try
            {
                using var attempt = new CancellationTokenSource(TimeSpan.FromMilliseconds(500));
                await client.ConnectAsync(IPAddress.Loopback, Port, attempt.Token).ConfigureAwait(false);
                return;
            }
            catch (Exception exception) when (exception is SocketException or OperationCanceledException)
            {
                if (DateTime.UtcNow > deadline)
                {
                    throw new TimeoutException($"Azurite did not accept connections on 127.0.0.1:{Port} within {timeout.TotalSeconds:0} s. Output:{Environment.NewLine}{Output}{Environment.NewLine}{FixHint}");
                }
            }

            // Poll again shortly; the loop ends at the deadline or when the port accepts a connection.
            await Task.Delay(TimeSpan.FromMilliseconds(100), cancellationToken).ConfigureAwait(false);
        }
    }

    private string Output
    {
        get
        {
            lock (_output)
            {
                return _output.ToString();
            }
        }
    }

    private static void Append(StringBuilder output, string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (output)
        {
            output.AppendLine(line);
        }
    }

}
