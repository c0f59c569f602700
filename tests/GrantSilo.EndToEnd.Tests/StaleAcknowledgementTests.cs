using GrantSilo.Client;
using GrantSilo.EndToEnd.Tests.Support;
using GrantSilo.GrainInterfaces;
using Microsoft.Extensions.DependencyInjection;
using Xunit.Abstractions;

namespace GrantSilo.EndToEnd.Tests;

/// <summary>
/// Issue 16, hole 2: a stale activation must not acknowledge a revocation after a new activation has loaded the
/// state from before it. Silo A (the test silo host, <c>tests/GrantSilo.EndToEnd.TestSilo</c>) holds the task's
/// terminal write in its Azure SDK pipeline; A is paused until the membership table says it is dead; the task is
/// activated again through silo B (the real silo-host), which reads it Active with the ETag A's write still
/// expects; A is resumed and the write released, and lands on that ETag. Whatever A then answers, no Authorize
/// invoked after a revocation was acknowledged may be allowed: if A acknowledges, B must deny from then on; if A
/// answers an error, the revocation is retried through B until acknowledged, and B must deny after that.
/// (Acknowledging without checking A's lapsed silo lease, while B answers Active from memory, fails here.)
/// </summary>
public sealed class StaleAcknowledgementTests(ITestOutputHelper output)
{
    private const string StateName = "task";
    private static readonly Scope Scope = Scenario.Scope(0, "repo:read:acme/*");

    [Fact]
    public async Task RevocationWriteHeldOnASiloDeclaredDead_NoAuthorizeAfterItsAcknowledgementIsAllowed()
    {
        var control = Directory.CreateTempSubdirectory("grantsilo-hold-");
        try
        {
            await RunAsync(control.FullName);
        }
        finally
        {
            control.Delete(recursive: true);
        }
    }

    private async Task RunAsync(string control)
    {
        await using var cluster = await ProcessCluster.StartAsync(2, output);
        var survivor = cluster.Silos[0];
        var stale = await cluster.StartTestSiloAsync(new Dictionary<string, string>
        {
            // HeldWritePolicy.ControlDirectoryVariable of the test silo host.
            ["GRANTSILO_TESTSILO_HOLD_WRITES_DIR"] = control,
            // A silo notices its own death at its periodic membership read (every minute by default, the first one
            // at a random point within the period). If that read falls due while A is paused, it runs the instant A
            // resumes, and A starts shutting down and forwarding calls to the new activations, racing the
            // acknowledgement. A period of days keeps A deterministically in the state the hole is about: resumed,
            // not yet aware it was declared dead, its silo lease lapsed.
            ["GrantSilo__Membership__TableRefreshTimeout"] = "10.00:00:00",
        });
        var everywhere = await cluster.StartClientAsync(TimeSpan.FromSeconds(30));
        // The revoke's reply comes only after A was paused, declared dead and resumed: far beyond the usual 10 s.
        var viaStale = await cluster.StartClientAsync(TimeSpan.FromMinutes(4), stale);
        var viaSurvivor = await cluster.StartClientAsync(survivor);
        var grants = new Scenario(ProcessCluster.ClientOf(everywhere), settling: TimeSpan.FromSeconds(60));
        var staleGrants = new Scenario(ProcessCluster.ClientOf(viaStale), settling: TimeSpan.FromSeconds(60));
        var survivorGrants = new Scenario(ProcessCluster.ClientOf(viaSurvivor), settling: TimeSpan.FromSeconds(60));
        var orleans = everywhere.Services.GetRequiredService<IClusterClient>();
        var management = orleans.GetGrain<IManagementGrain>(0);

        // The agent on A as well: it opens the sessions below, and a new session is placed by the grain that creates it
        // (its silo preferred, load permitting). An agent elsewhere left every session it opened off A in some runs.
        string? agent = null;
        var tries = 0;
        for (; tries < 60 && agent is null; tries++)
        {
            var candidate = await staleGrants.AgentAsync($"worker-{tries}", Scope);
            var host = await management.ActivationAddressAsync(orleans.GetGrain<IAgentGrain>(candidate));
            agent = host?.Endpoint.Port == stale.SiloPort ? candidate : null;
        }
        Assert.NotNull(agent);
        cluster.Log($"agent {agent} active on {stale.Name} after {tries} registration(s)");
        TaskInfo? task = null;
        for (var i = 0; i < 60 && task is null; i++)
        {
            var candidate = await staleGrants.RootTaskAsync(agent, Scope, TimeSpan.FromMinutes(10));
            var host = await management.ActivationAddressAsync(orleans.GetGrain<ITaskGrain>(candidate.TaskId));
            task = host?.Endpoint.Port == stale.SiloPort ? candidate : null;
        }
        Assert.NotNull(task);
        // The row key is the escaped grain key and state name (TableKeys.Compose); a task id needs no escaping.
        Assert.Matches("^[A-Za-z0-9-]+$", task.TaskId);
        // The revocation's cascade ends the task's credentials through their session. With the session on A too,
        // that step reaches the session's stale activation on A, which A's lapsed silo lease fences: the step fails
        // and stays pending for the reminder, as a step to any session unreachable at that moment would, and the
        // acknowledgement does not wait for it. What keeps an Authorize after the acknowledgement from being allowed
        // is then only what hole 2 is about: which activation may acknowledge, and what a new one answers.
        string? sessionId = null;
        for (tries = 0; tries < 60 && sessionId is null; tries++)
        {
            var opened = await Scenario.Retry(() => staleGrants.Client.OpenSessionAsync(new OpenSessionRequest { Agent = agent }));
            Assert.True(opened.IsSuccess, opened.Error?.ToString());
            var host = await management.ActivationAddressAsync(orleans.GetGrain<ISessionGrain>(opened.Value.SessionId));
            sessionId = host?.Endpoint.Port == stale.SiloPort ? opened.Value.SessionId : null;
        }
        Assert.NotNull(sessionId);
        cluster.Log($"session {sessionId} active on {stale.Name} after {tries} opening(s)");
        var issued = await Scenario.Retry(() => grants.Client.IssueCredentialAsync(sessionId, new IssueCredentialRequest { TaskId = task.TaskId, Lifetime = TimeSpan.FromMinutes(10) }));
        Assert.True(issued.IsSuccess, issued.Error?.ToString());
        var credential = issued.Value;
        Assert.True((await survivorGrants.AuthorizeSettledAsync(credential)).IsAllowed);
        cluster.Log($"task {task.TaskId} and session {sessionId} active on {stale.Name}; credential {credential.CredentialId} is allowed");

        // The task's next write, the revocation's terminal write, is held in A's storage pipeline.
        await File.WriteAllTextAsync(Path.Combine(control, "hold"), $"_task_{GrantSilo.Persistence.AzureTables.Storage.StorageKeys.Escape(task.TaskId)}|{StateName}");
        var revoke = staleGrants.Client.RevokeTaskAsync(task.TaskId, "revoked while its write was held");
        await Eventually.HoldsAsync(() => Task.FromResult(File.Exists(Path.Combine(control, "held"))), TimeSpan.FromSeconds(60), $"{stale.Name} to hold the revocation's write");
        cluster.Log($"{stale.Name} holds {await File.ReadAllTextAsync(Path.Combine(control, "held"))}");
        Assert.False(revoke.IsCompleted, "The revocation returned while its write was held.");

        await stale.Process.PauseAsync();
        cluster.Log($"SIGSTOP {stale.Name}");
        await cluster.WaitForStatusAsync(stale, SiloStatus.Dead, TimeSpan.FromSeconds(60));
        cluster.Log($"{stale.Name} declared dead while paused");

        // A new activation, reached through B, loads the task as A read it: Active, with the same ETag.
        await Eventually.ReturnsAsync(() => survivorGrants.AuthorizeAsync(credential), d => d.IsAllowed, TimeSpan.FromSeconds(90), $"an Authorize through {survivor.Name} to be allowed by a new activation of the task");
        var reread = await Scenario.Retry(() => survivorGrants.Client.GetTaskAsync(task.TaskId));
        Assert.True(reread.IsSuccess, reread.Error?.ToString());
        Assert.Equal(GrantTaskStatus.Active, reread.Value.Status);
        cluster.Log($"the task's new activation, reached through {survivor.Name}, reads {reread.Value.Status} and allows the credential");

        await stale.Process.ResumeAsync();
        cluster.Log($"SIGCONT {stale.Name}");
        await File.WriteAllTextAsync(Path.Combine(control, "release"), "");
        cluster.Log("held write released");
        var revoked = await revoke.WaitAsync(TimeSpan.FromMinutes(5));
        var acknowledgedAt = DateTime.UtcNow;
        var released = Path.Combine(control, "released");
        cluster.Log($"revoke through {stale.Name} returned {(revoked.IsSuccess ? revoked.Value.Status.ToString() : revoked.Error.ToString())}; released write answered {(File.Exists(released) ? await File.ReadAllTextAsync(released) : "<not yet>")}");

        string acknowledgedBy;
        if (revoked.IsSuccess)
        {
            Assert.Equal(GrantTaskStatus.Revoked, revoked.Value.Status);
            acknowledgedBy = $"the stale activation on {stale.Name}";
        }
        else
        {
            // Not acknowledged: the revocation is retried through B until it is.
            var retried = await Scenario.Retry(() => survivorGrants.Client.RevokeTaskAsync(task.TaskId, "revoked again through a survivor"), TimeSpan.FromSeconds(120));
            Assert.True(retried.IsSuccess, retried.Error?.ToString());
            Assert.Equal(GrantTaskStatus.Revoked, retried.Value.Status);
            acknowledgedAt = DateTime.UtcNow;
            acknowledgedBy = $"{survivor.Name}, on retry";
        }
        cluster.Log($"revocation acknowledged by {acknowledgedBy}");

        // Every Authorize below is invoked after the acknowledgement returned; none may be allowed.
        var decisions = new List<(DateTime Invoked, Decision Decision)>();
        for (var i = 0; i < 5; i++)
        {
            var invoked = DateTime.UtcNow;
            // Settled: a call that fails closed because the machine is slow is asked again, so each decision counts.
            decisions.Add((invoked, await survivorGrants.AuthorizeSettledAsync(credential)));
        }
        foreach (var (invoked, decision) in decisions)
        {
            cluster.Log($"Authorize invoked {(invoked - acknowledgedAt).TotalMilliseconds:0} ms after the acknowledgement: {decision.Kind} {decision.Reason} {decision.Detail}");
        }
        var allowed = decisions.Where(d => d.Decision.IsAllowed).ToList();
        Assert.True(allowed.Count == 0,
            $"{allowed.Count} of {decisions.Count} Authorize calls through {survivor.Name}, invoked after the revocation was acknowledged by {acknowledgedBy}, were allowed (first invoked {(allowed.FirstOrDefault().Invoked - acknowledgedAt).TotalMilliseconds:0} ms after it).");
    }
}
