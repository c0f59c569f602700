using GrantSilo.Grains.Hosting;
using GrantSilo.Hosting;
using Microsoft.Extensions.DependencyInjection;

namespace GrantSilo.Grains.Tests;

/// <summary>
/// One agent holds at most GrantSilo:Lifecycle:MaxLiveCredentialsPerAgent live credentials across all its sessions (not
/// sessions × credentials per session): each session holds a share its agent records durably, so concurrent issuances
/// in many sessions never overshoot together, and a share comes back as credentials are revoked or expire and as
/// sessions end, after a deactivation as before it.
/// </summary>
[Collection(CredentialBoundClusterCollection.Name)]
public class CredentialsPerAgentTests(CredentialBoundClusterFixture fixture)
{
    private const int Limit = CredentialBoundClusterFixture.CredentialsPerAgent;
    private static readonly Scope Reader = Scenario.Scope(0, "doc:read:*");
    private readonly Scenario _s = new(fixture);

    private async Task<(string Agent, string Task)> AgentWithTaskAsync(string name)
    {
        var agent = await _s.AgentAsync(name, Reader);
        var task = await _s.RootTaskAsync(agent, Reader);
        return (agent, task.TaskId);
    }

    private async Task<string> SessionAsync(string agent) => (await _s.Client.OpenSessionAsync(new OpenSessionRequest { Agent = agent })).Value.SessionId;

    private Task<GrantResult<IssuedCredential>> IssueAsync(string session, string task, TimeSpan? lifetime = null) =>
        _s.Client.IssueCredentialAsync(session, new IssueCredentialRequest { TaskId = task, Lifetime = lifetime ?? TimeSpan.FromMinutes(10) });

    private static void AssertRefusedAtTheBound(GrantResult<IssuedCredential> result)
    {
        Assert.Equal(GrantErrorCode.QuotaExceeded, result.Error?.Code);
        Assert.Contains("GrantSilo:Lifecycle:MaxLiveCredentialsPerAgent", result.Error!.Message);
        Assert.Contains($"{Limit} live credentials", result.Error.Message);
    }

    private async Task<int> LiveAsync(IEnumerable<string> sessions)
    {
        var live = 0;
        foreach (var session in sessions)
        {
            live += (await _s.Client.GetSessionAsync(session)).Value.LiveCredentials;
        }
        return live;
    }

    [Fact]
    public async Task IssuancePastTheBound_AcrossSessions_IsRefusedNamingTheSetting()
    {
        var (agent, task) = await AgentWithTaskAsync("bounded");
        var sessions = new[] { await SessionAsync(agent), await SessionAsync(agent), await SessionAsync(agent) };
        for (var i = 0; i < Limit; i++)
        {
            var issued = await IssueAsync(sessions[i % sessions.Length], task);
            Assert.True(issued.IsSuccess, issued.Error?.ToString());
        }
        foreach (var session in sessions)
        {
            AssertRefusedAtTheBound(await IssueAsync(session, task));
        }
        // A fresh session of the same agent is no way around it; another agent has its own bound.
        AssertRefusedAtTheBound(await IssueAsync(await SessionAsync(agent), task));
        var (other, otherTask) = await AgentWithTaskAsync("other");
        Assert.True((await IssueAsync(await SessionAsync(other), otherTask)).IsSuccess);
    }

    [Fact]
    public async Task AfterRevokingExpiringOrEnding_IssuanceWorksAgain()
    {
        var (agent, task) = await AgentWithTaskAsync("recovers");
        var a = await SessionAsync(agent);
        var b = await SessionAsync(agent);
        var c = await SessionAsync(agent);
        var inA = new List<IssuedCredential>();
        var inB = new List<IssuedCredential>();
        for (var i = 0; i < Limit; i++)
        {
            // Those in B live a minute only.
            var issued = i % 2 == 0 ? await IssueAsync(a, task) : await IssueAsync(b, task, TimeSpan.FromMinutes(1));
            (i % 2 == 0 ? inA : inB).Add(issued.Value);
        }
        AssertRefusedAtTheBound(await IssueAsync(a, task));

        // A credential revoked in a session frees its place for that session.
        Assert.True((await _s.Client.RevokeCredentialAsync(inA[0].CredentialId, "rotated")).IsSuccess);
        var again = await Eventually.LastAsync(() => IssueAsync(a, task), r => r.IsSuccess);
        Assert.True(again.IsSuccess, again.Error?.ToString());
        AssertRefusedAtTheBound(await IssueAsync(c, task));

        // And for another session: the agent asks its sessions to give back what they no longer hold.
        Assert.True((await _s.Client.RevokeCredentialAsync(inA[1].CredentialId, "rotated")).IsSuccess);
        fixture.Time.Advance(TimeSpan.FromSeconds(1));
        var elsewhere = await Eventually.LastAsync(() => IssueAsync(c, task), r => r.IsSuccess);
        Assert.True(elsewhere.IsSuccess, elsewhere.Error?.ToString());
        AssertRefusedAtTheBound(await IssueAsync(c, task));

        // Expired credentials no longer count.
        fixture.Time.Advance(TimeSpan.FromMinutes(1));
        var afterExpiry = await Eventually.LastAsync(() => IssueAsync(c, task), r => r.IsSuccess);
        Assert.True(afterExpiry.IsSuccess, afterExpiry.Error?.ToString());

        // An ended session's credentials end with it, and its share goes back to the agent.
        while ((await IssueAsync(c, task)).IsSuccess)
        {
        }
        AssertRefusedAtTheBound(await IssueAsync(c, task));
        Assert.True((await _s.Client.EndSessionAsync(a, "done")).IsSuccess);
        var afterEnd = await Eventually.LastAsync(() => IssueAsync(c, task), r => r.IsSuccess);
        Assert.True(afterEnd.IsSuccess, afterEnd.Error?.ToString());
    }

    [Fact]
    public async Task TheBound_HoldsAfterEveryActivationIsCollected_AndStillComesBackDown()
    {
        var (agent, task) = await AgentWithTaskAsync("restarted");
        var a = await SessionAsync(agent);
        var b = await SessionAsync(agent);
        var issued = new List<IssuedCredential>();
        for (var i = 0; i < Limit; i++)
        {
            issued.Add((await IssueAsync(i < 2 ? a : b, task)).Value);
        }

        // Every activation goes: what the sessions knew of their shares in memory is lost, what the agent wrote is not.
        await fixture.CollectEveryActivationAsync();
        AssertRefusedAtTheBound(await IssueAsync(a, task));
        AssertRefusedAtTheBound(await IssueAsync(await SessionAsync(agent), task));

        Assert.True((await _s.Client.RevokeCredentialAsync(issued[^1].CredentialId, "rotated")).IsSuccess);
        await fixture.CollectEveryActivationAsync();
        fixture.Time.Advance(TimeSpan.FromSeconds(1));
        var again = await Eventually.LastAsync(() => IssueAsync(a, task), r => r.IsSuccess);
        Assert.True(again.IsSuccess, again.Error?.ToString());
        Assert.Equal(Limit, await LiveAsync([a, b]));
    }

    [Fact]
    public async Task ConcurrentIssuance_AcrossSessions_NeverOvershoots()
    {
        var (agent, task) = await AgentWithTaskAsync("concurrent");
        var sessions = new List<string>();
        for (var i = 0; i < 8; i++)
        {
            sessions.Add(await SessionAsync(agent));
        }
        var results = await Task.WhenAll(sessions.SelectMany(s => Enumerable.Range(0, 4).Select(_ => IssueAsync(s, task))));
        var issued = results.Count(r => r.IsSuccess);
        Assert.InRange(issued, 1, Limit);
        Assert.All(results.Where(r => !r.IsSuccess), AssertRefusedAtTheBound);
        Assert.Equal(issued, await LiveAsync(sessions));
    }
}

/// <summary>A silo whose agents may each hold <see cref="CredentialsPerAgent"/> live credentials, on the fake grant clock.</summary>
public sealed class CredentialBoundClusterFixture : Testing.GrantSiloClusterFixture
{
    public const int CredentialsPerAgent = 6;

    /// <summary>Deactivates every grain of the cluster (their durable state stays): as after a restart.</summary>
    public async Task CollectEveryActivationAsync()
    {
        TestIdentity.Attach(TestIdentity.Shared.HarnessToken());
        try
        {
            await Cluster.Client.GetGrain<IManagementGrain>(0).ForceActivationCollection(TimeSpan.Zero);
        }
        finally
        {
            RequestContext.Clear();
        }
    }

    protected override void ConfigureSilo(ISiloBuilder silo)
    {
        silo.AddMemoryGrainStorage(GrantSiloStorage.Name);
        silo.UseInMemoryReminderService();
        silo.Services.AddKeyedSingleton<TimeProvider>(GrantSiloTime.ServiceKey, Time);
        silo.AddGrantSilo(o => o.MaxLiveCredentialsPerAgent = CredentialsPerAgent);
    }
}

[CollectionDefinition(Name)]
public sealed class CredentialBoundClusterCollection : ICollectionFixture<CredentialBoundClusterFixture>
{
    public const string Name = "credential-bound-cluster";
}
