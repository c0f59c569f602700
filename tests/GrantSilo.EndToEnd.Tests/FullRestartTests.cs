using GrantSilo.EndToEnd.Tests.Support;
using GrantSilo.GrainInterfaces;
using Microsoft.Extensions.DependencyInjection;
using Xunit.Abstractions;

namespace GrantSilo.EndToEnd.Tests;

/// <summary>
/// Every silo stops, then three start again on the same storage: live grants, pending cascades and
/// reminders are all still there, and nothing revoked comes back.
/// </summary>
public sealed class FullRestartTests(ITestOutputHelper output)
{
    [Fact]
    public async Task StoppingEverySiloAndStartingAgain_KeepsLiveGrantsPendingCascadesAndReminders_AndRevokedStaysRevoked()
    {
        await using var cluster = await ProcessCluster.StartAsync(3, output);
        var client = await cluster.StartClientAsync();
        var grants = new Scenario(ProcessCluster.ClientOf(client), settling: TimeSpan.FromSeconds(60));
        var orleans = client.Services.GetRequiredService<IClusterClient>();
        var management = orleans.GetGrain<IManagementGrain>(0);
        var planner = await grants.AgentAsync("planner", Scenario.Scope(2, "repo:read:acme/*"));
        var worker = await grants.AgentAsync("worker", Scenario.Scope(0, "repo:read:acme/*"));

        // Live grants: root tasks with a delegated child, credentials on both.
        var live = new List<IssuedCredential>();
        var liveTasks = new List<string>();
        for (var i = 0; i < 3; i++)
        {
            var root = await grants.RootTaskAsync(planner, Scenario.Scope(1, "repo:read:acme/*"), TimeSpan.FromMinutes(30));
            var proof = await grants.IssueAsync(planner, root.TaskId, TimeSpan.FromMinutes(15));
            var child = await grants.DelegateAsync(root, proof, worker, Scenario.Scope(0, "repo:read:acme/*"), TimeSpan.FromMinutes(20));
            live.Add(proof);
            live.Add(await grants.IssueAsync(worker, child.TaskId, TimeSpan.FromMinutes(15)));
            liveTasks.AddRange([root.TaskId, child.TaskId]);
        }

        // A revoked tree, and a revoked credential under a live task.
        var revokedRoot = await grants.RootTaskAsync(planner, Scenario.Scope(1, "repo:read:acme/*"), TimeSpan.FromMinutes(30));
        var revokedProof = await grants.IssueAsync(planner, revokedRoot.TaskId, TimeSpan.FromMinutes(15));
        var revokedChild = await grants.DelegateAsync(revokedRoot, revokedProof, worker, Scenario.Scope(0, "repo:read:acme/*"), TimeSpan.FromMinutes(20));
        var revokedWorker = await grants.IssueAsync(worker, revokedChild.TaskId, TimeSpan.FromMinutes(15));
        Assert.True((await grants.Client.RevokeTaskAsync(revokedRoot.TaskId, "revoked before the restart")).IsSuccess);
        var revokedAlone = await grants.IssueAsync(worker, liveTasks[1], TimeSpan.FromMinutes(15));
        Assert.True((await grants.Client.RevokeCredentialAsync(revokedAlone.CredentialId, "revoked before the restart")).IsSuccess);
        var revoked = new[] { revokedProof, revokedWorker, revokedAlone };
        await Eventually.HoldsAsync(async () => (await grants.Client.GetTaskAsync(revokedChild.TaskId)).Value.Status == GrantTaskStatus.Revoked, TimeSpan.FromSeconds(30), "the revoked tree's cascade");

        foreach (var credential in live)
        {
            Assert.True((await grants.AuthorizeAsync(credential)).IsAllowed);
        }
        foreach (var credential in revoked)
        {
            Assert.False((await grants.AuthorizeAsync(credential)).IsAllowed);
        }

        // A task whose lifetime ends after the restart: only its reminder can enact the expiry, since
        // nothing calls it (and so nothing activates it) until then.
        var shortTask = await grants.RootTaskAsync(worker, Scenario.Scope(0, "repo:read:acme/*"), TimeSpan.FromSeconds(45));
        var shortCredential = await grants.IssueAsync(worker, shortTask.TaskId);
        var shortReminder = GrainId.Create("task", shortTask.TaskId);
        Assert.NotNull(await cluster.Reminders.ReadRow(shortReminder, "lifecycle"));

        // A pending cascade: kill a silo that hosts some of a task's credentials, then revoke the task at
        // once; steps to the dead silo that fail stay pending, retried by the task's reminder.
        var (pendingRoot, pendingCredentials, victim) = await PendingCascadeAsync(cluster, grants, management, orleans, planner);
        cluster.Log($"root {pendingRoot} has a pending cascade to {victim.Name}");

        await cluster.WaitForStatusAsync(victim, SiloStatus.Dead, TimeSpan.FromSeconds(60));
        await cluster.StopClientAsync(client);
        foreach (var silo in cluster.Silos.Where(s => !s.Process.HasExited))
        {
            await silo.Process.StopAsync(TimeSpan.FromSeconds(30));
        }
        cluster.Log("every silo stopped");

        await cluster.StartSilosAsync(3);
        client = await cluster.StartClientAsync();
        grants = new Scenario(ProcessCluster.ClientOf(client), settling: TimeSpan.FromSeconds(60));
        cluster.Log("restarted");

        Assert.NotNull(await cluster.Reminders.ReadRow(shortReminder, "lifecycle"));
        foreach (var credential in live)
        {
            var decision = await grants.AuthorizeSettledAsync(credential);
            Assert.True(decision.IsAllowed, $"{credential.CredentialId}: {decision.Reason} {decision.Detail}");
        }
        foreach (var task in liveTasks)
        {
            Assert.Equal(GrantTaskStatus.Active, (await Scenario.Retry(() => grants.Client.GetTaskAsync(task))).Value.Status);
        }
        foreach (var credential in revoked)
        {
            var decision = await grants.AuthorizeSettledAsync(credential);
            Assert.True(decision.Reason is DecisionReason.CredentialRevoked or DecisionReason.TaskRevoked, $"{credential.CredentialId}: {decision.Kind} {decision.Reason} {decision.Detail}");
        }
        Assert.Equal(GrantTaskStatus.Revoked, (await Scenario.Retry(() => grants.Client.GetTaskAsync(revokedRoot.TaskId))).Value.Status);
        Assert.Equal(GrantTaskStatus.Revoked, (await Scenario.Retry(() => grants.Client.GetTaskAsync(revokedChild.TaskId))).Value.Status);
        Assert.Equal(CredentialStatus.Revoked, (await Scenario.Retry(() => grants.Client.GetCredentialAsync(revokedAlone.CredentialId))).Value.Status);

        // The short task's reminder fires on the restarted cluster and enacts the expiry.
        // The tick writes the expiry and runs the cascade before it removes the reminder, so once the row is
        // gone both are visible.
        await Eventually.HoldsAsync(async () => await cluster.Reminders.ReadRow(shortReminder, "lifecycle") is null, TimeSpan.FromSeconds(180), "the short task's reminder to fire and be removed");
        var expired = (await Scenario.Retry(() => grants.Client.GetTaskAsync(shortTask.TaskId))).Value;
        Assert.Equal(GrantTaskStatus.Expired, expired.Status);
        Assert.NotNull(expired.EndedAt);
        Assert.Equal(CredentialStatus.Expired, (await Scenario.Retry(() => grants.Client.GetCredentialAsync(shortCredential.CredentialId))).Value.Status);
        Assert.False((await grants.AuthorizeAsync(shortCredential)).IsAllowed);

        // The pending cascade, retried by the task's reminder after the restart, reaches every credential,
        // and then the task records that nothing is pending (a step is confirmed before the task writes it
        // off, so the two are polled together).
        await Eventually.HoldsAsync(async () =>
        {
            foreach (var credential in pendingCredentials)
            {
                if ((await grants.Client.GetCredentialAsync(credential.CredentialId)).Value.Status != CredentialStatus.Revoked)
                {
                    return false;
                }
            }
            return (await grants.Client.GetTaskAsync(pendingRoot)).Value.PendingCascade == 0;
        }, TimeSpan.FromSeconds(180), "the pending cascade to reach every credential after the restart and be written off");
        foreach (var credential in pendingCredentials)
        {
            Assert.False((await grants.AuthorizeAsync(credential)).IsAllowed);
        }
    }

    private static async Task<(string Root, IReadOnlyList<IssuedCredential> Credentials, SiloNode Victim)> PendingCascadeAsync(ProcessCluster cluster, Scenario grants, IManagementGrain management, IClusterClient orleans, string planner)
    {
        // Children live beside the task that created them. A credential is activated where it is first used (its
        // session writes its record without activating it), so each is used once here. The victim must host
        // credentials of the task but not the task itself: placement decides that, so a task placed with its
        // credentials is revoked and another one made.
        for (var attempt = 0; ; attempt++)
        {
            var root = await grants.RootTaskAsync(planner, Scenario.Scope(1, "repo:read:acme/*"), TimeSpan.FromMinutes(30));
            var credentials = new List<IssuedCredential>();
            for (var i = 0; i < 9; i++)
            {
                credentials.Add(await grants.IssueAsync(planner, root.TaskId, TimeSpan.FromMinutes(15)));
            }
            foreach (var credential in credentials)
            {
                Assert.True((await grants.AuthorizeAsync(credential)).IsAllowed);
            }
            var rootHost = await management.ActivationAddressAsync(orleans.GetGrain<ITaskGrain>(root.TaskId));
            var hosts = new List<SiloAddress?>();
            foreach (var credential in credentials)
            {
                hosts.Add(await management.ActivationAddressAsync(orleans.GetGrain<ICredentialGrain>(credential.CredentialId)));
            }
            var victim = cluster.Silos.Where(s => !s.Process.HasExited && rootHost?.Endpoint.Port != s.SiloPort)
                .OrderByDescending(s => hosts.Count(h => h?.Endpoint.Port == s.SiloPort)).First();
            if (!hosts.Any(h => h?.Endpoint.Port == victim.SiloPort))
            {
                Assert.True(attempt < 20, "No task was placed apart from its credentials in 20 attempts.");
                Assert.True((await Scenario.Retry(() => grants.Client.RevokeTaskAsync(root.TaskId, "placed with its credentials"))).IsSuccess);
                continue;
            }
            return await KillAndRevokeAsync(cluster, grants, root.TaskId, credentials, victim);
        }
    }

    private static async Task<(string Root, IReadOnlyList<IssuedCredential> Credentials, SiloNode Victim)> KillAndRevokeAsync(ProcessCluster cluster, Scenario grants, string rootTaskId, List<IssuedCredential> credentials, SiloNode victim)
    {
        victim.Process.Kill();
        // Revoke waits for its cascade, whose steps to the dead silo may wait until it is declared dead, so the
        // reply can come after the client's timeout; and a request sent through the dead silo's gateway never
        // arrives. Unavailable means "not known to be done": revocation is idempotent, so it is asked again.
        var revoked = await Scenario.Retry(() => grants.Client.RevokeTaskAsync(rootTaskId, "revoked while a silo was down"));
        Assert.True(revoked.IsSuccess, revoked.Error?.ToString());
        // A step to a grain of the dead silo either fails (it stays pending, for the reminder to retry after the
        // restart) or, when the directory has already handed the grain to a live silo, succeeds: which one is a race
        // inside Orleans, so both are accepted; the steps to the live silos always succeed in the first round.
        var settled = await Eventually.ReturnsAsync(async () => (await grants.Client.GetTaskAsync(rootTaskId)).Value,
            t => t.Status == GrantTaskStatus.Revoked && t.PendingCascade < credentials.Count, TimeSpan.FromSeconds(60),
            "the revoked task's cascade to finish its first round");
        cluster.Log($"{settled.PendingCascade} of {credentials.Count} cascade steps pending");
        return (rootTaskId, credentials, victim);
    }
}
