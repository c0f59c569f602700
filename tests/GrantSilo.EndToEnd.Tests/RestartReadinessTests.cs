using System.Diagnostics;
using GrantSilo.EndToEnd.Tests.Support;
using Xunit.Abstractions;

namespace GrantSilo.EndToEnd.Tests;

/// <summary>
/// A silo killed with SIGKILL and started again on its own endpoint, against the tables it left: the restarted silo
/// declares its previous generation dead, and the grain directory holds that generation's grains for a while. The host
/// says "ready" only once it can answer, and from then on it does.
/// </summary>
public sealed class RestartReadinessTests(ITestOutputHelper output)
{
    private static readonly TimeSpan FirstCallDeadline = TimeSpan.FromSeconds(5);

    [Fact]
    public async Task KilledSiloRestartedOnItsEndpoint_AnswersTheFirstCallWithinFiveSecondsOfSayingReady()
    {
        await using var cluster = await ProcessCluster.StartAsync(1, output);
        var client = await cluster.StartClientAsync();
        var grants = new Scenario(ProcessCluster.ClientOf(client));
        var agent = await grants.AgentAsync("worker", Scenario.Scope(0, "repo:read:acme/*"));
        var task = await grants.RootTaskAsync(agent, Scenario.Scope(0, "repo:read:acme/*"), TimeSpan.FromMinutes(30));
        var credential = await grants.IssueAsync(agent, task.TaskId, TimeSpan.FromMinutes(10));
        Assert.True((await grants.AuthorizeAsync(credential)).IsAllowed);
        await cluster.StopClientAsync(client);

        var silo = cluster.Silos.Single();
        silo.Process.Kill();
        Assert.True(await silo.Process.WaitForExitAsync(TimeSpan.FromSeconds(30)));
        cluster.Log($"killed {silo.Name}; restarting it on silo port {silo.SiloPort}, gateway {silo.GatewayPort}");

        // Restarted with its HTTP API on, so readiness can be asked the way an orchestrator asks it.
        var httpPort = Ports.Free();
        var restarted = await cluster.RestartAsync(silo, new Dictionary<string, string>
        {
            ["GrantSilo__Http__Enabled"] = "true",
            ["GrantSilo__Http__Port"] = httpPort.ToString(System.Globalization.CultureInfo.InvariantCulture),
        });
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{httpPort}"), Timeout = TimeSpan.FromSeconds(10) };
        await Eventually.HoldsAsync(async () => (await http.GetAsync(new Uri("/health/ready", UriKind.Relative))).IsSuccessStatusCode, TimeSpan.FromSeconds(60), "/health/ready to answer 200");
        var ready = Stopwatch.GetTimestamp();
        cluster.Log($"{restarted.Name} says it is ready (log and /health/ready)");

        // A client with the response timeout the first call must meet, connecting only now that the host is ready.
        client = await cluster.StartClientAsync(FirstCallDeadline);
        var decision = await new Scenario(ProcessCluster.ClientOf(client)).AuthorizeAsync(credential);
        var answeredAfter = Stopwatch.GetElapsedTime(ready);
        cluster.Log($"first call answered {answeredAfter.TotalMilliseconds:0} ms after ready: {decision.Kind} {decision.Reason}");

        Assert.True(decision.IsAllowed, $"{decision.Reason}: {decision.Detail}");
        Assert.True(answeredAfter < FirstCallDeadline, $"The first call was answered {answeredAfter.TotalSeconds:0.0} s after the host said it was ready.");
        Assert.Contains("GrantSilo silo started", restarted.Process.Output, StringComparison.Ordinal);
        cluster.Log(restarted.Process.Output.Contains("not ready yet", StringComparison.Ordinal)
            ? "the restarted silo reported itself not ready before it was"
            : "the restarted silo was ready at its first check");
    }
}
