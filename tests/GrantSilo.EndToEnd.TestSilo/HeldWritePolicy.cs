using System.Globalization;
using Azure.Core;
using Azure.Core.Pipeline;

namespace GrantSilo.EndToEnd.TestSilo;

/// <summary>
/// An Azure SDK pipeline policy that holds one write of one table entity until the test releases it, so a
/// test can let a silo send a grain's state write only at a moment of its choosing (after the silo was paused,
/// declared dead and resumed, say).
/// </summary>
/// <remarks>
/// The test steers it through files in a directory only it and this process know (named by
/// <see cref="ControlDirectoryVariable"/>); files need no port and no listener, so nothing but the local file
/// system is exposed, and they survive the process being stopped with SIGSTOP:
/// <list type="bullet">
/// <item><c>hold</c>: written by the test; its text, <c>partition-key-suffix|row-key</c>, names the entity whose next write is held.</item>
/// <item><c>held</c>: written here when that write has been caught (the method and address, for the log).</item>
/// <item><c>release</c>: written by the test to let the held write go.</item>
/// <item><c>released</c>: written here once storage has answered the released write (its status code).</item>
/// </list>
/// Only the first matching write is held; every other request passes untouched. The policy runs per call,
/// before the SDK's retry policy, so the released request is sent exactly as an unheld one would be.
/// </remarks>
internal sealed class HeldWritePolicy(string directory) : HttpPipelinePolicy
{
    /// <summary>The environment variable naming the control directory; without it no policy is installed.</summary>
    public const string ControlDirectoryVariable = "GRANTSILO_TESTSILO_HOLD_WRITES_DIR";

    // A held write fails after this long, so a test that never releases it cannot wedge the silo for ever.
    private static readonly TimeSpan HoldLimit = TimeSpan.FromMinutes(5);
    private int _caught;

    private string PathOf(string name) => Path.Combine(directory, name);

    public override void Process(HttpMessage message, ReadOnlyMemory<HttpPipelinePolicy> pipeline)
    {
        ArgumentNullException.ThrowIfNull(message);
        if (!ShouldHold(message))
        {
            ProcessNext(message, pipeline);
            return;
        }
        Caught(message);
        WaitForReleaseAsync().GetAwaiter().GetResult();
        Releasing(message);
        try
        {
            ProcessNext(message, pipeline);
            Answered(message);
        }
        catch (Exception exception)
        {
            Failed(exception);
            throw;
        }
    }

    public override async ValueTask ProcessAsync(HttpMessage message, ReadOnlyMemory<HttpPipelinePolicy> pipeline)
    {
        ArgumentNullException.ThrowIfNull(message);
        if (!ShouldHold(message))
        {
            await ProcessNextAsync(message, pipeline).ConfigureAwait(false);
            return;
        }
        Caught(message);
        await WaitForReleaseAsync().ConfigureAwait(false);
        Releasing(message);
        try
        {
            await ProcessNextAsync(message, pipeline).ConfigureAwait(false);
            Answered(message);
        }
        catch (Exception exception)
        {
            Failed(exception);
            throw;
        }
    }

    private void Caught(HttpMessage message)
    {
        File.WriteAllText(PathOf("held"), $"{message.Request.Method} {message.Request.Uri}");
        Console.WriteLine($"TestSilo: holding {message.Request.Method} {message.Request.Uri}");
    }

    private bool Released() => File.Exists(PathOf("release"));

    // Waits for the test's signal (the release file appearing), not for time.
    private async Task WaitForReleaseAsync()
    {
        var released = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var watcher = new FileSystemWatcher(directory, "release");
        watcher.Created += (_, _) => released.TrySetResult();
        watcher.Changed += (_, _) => released.TrySetResult();
        watcher.Renamed += (_, _) => released.TrySetResult();
        watcher.EnableRaisingEvents = true;
        // Checked once the watcher is armed, so a release written just before is not missed.
        if (Released())
        {
            return;
        }
        await released.Task.WaitAsync(HoldLimit).ConfigureAwait(false);
    }

    private static void Releasing(HttpMessage message) =>
        Console.WriteLine($"TestSilo: releasing {message.Request.Method} {message.Request.Uri}");

    private void Answered(HttpMessage message)
    {
        var status = message.HasResponse ? message.Response.Status.ToString(CultureInfo.InvariantCulture) : "no response";
        Console.WriteLine($"TestSilo: released write answered {status}");
        File.WriteAllText(PathOf("released"), status);
    }

    private void Failed(Exception exception)
    {
        Console.WriteLine($"TestSilo: released write failed: {exception.GetType().Name}: {exception.Message}");
        File.WriteAllText(PathOf("released"), exception.GetType().Name + ": " + exception.Message);
    }

    private bool ShouldHold(HttpMessage message)
    {
        if (Volatile.Read(ref _caught) != 0 || !IsWrite(message.Request.Method.Method))
        {
            return false;
        }
        var hold = PathOf("hold");
        if (!File.Exists(hold))
        {
            return false;
        }
        var target = File.ReadAllText(hold).Trim();
        return target.Length > 0 && Targets(message.Request, target) && Interlocked.Exchange(ref _caught, 1) == 0;
    }

    private static bool IsWrite(string method) =>
        method is "PUT" or "PATCH" or "MERGE" or "POST";

    // The hold file names "<partition key suffix>|<row key>". An update names the entity in its address:
    // .../Table(PartitionKey='...',RowKey='...'), keys quoted with single quotes doubled and percent-encoded. An insert
    // (POST to the table) carries its keys in the body.
    private static bool Targets(Azure.Core.Request request, string target)
    {
        var parts = target.Split('|', 2);
        if (parts.Length != 2)
        {
            return false;
        }
        var (partitionSuffix, rowKey) = (parts[0], parts[1]);
        var path = Uri.UnescapeDataString(request.Uri.ToUri().AbsolutePath);
        var quotedRow = "',RowKey='" + rowKey.Replace("'", "''", StringComparison.Ordinal) + "')";
        if (path.EndsWith(quotedRow, StringComparison.Ordinal))
        {
            var partition = path[..^quotedRow.Length];
            return partition.EndsWith(partitionSuffix.Replace("'", "''", StringComparison.Ordinal), StringComparison.Ordinal);
        }
        if (request.Method.Method != "POST" || request.Content is null)
        {
            return false;
        }
        using var body = new MemoryStream();
        request.Content.WriteTo(body, CancellationToken.None);
        using var json = System.Text.Json.JsonDocument.Parse(body.ToArray());
        return json.RootElement.ValueKind == System.Text.Json.JsonValueKind.Object
            && json.RootElement.TryGetProperty("PartitionKey", out var pk) && pk.GetString() is { } p && p.EndsWith(partitionSuffix, StringComparison.Ordinal)
            && json.RootElement.TryGetProperty("RowKey", out var rk) && rk.GetString() == rowKey;
    }
}
