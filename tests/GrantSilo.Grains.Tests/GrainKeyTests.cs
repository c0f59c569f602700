using GrantSilo.GrainInterfaces;
using GrantSilo.Grains.Agents;
using GrantSilo.Grains.Approvals;
using GrantSilo.Grains.Credentials;
using GrantSilo.Grains.Hosting;
using GrantSilo.Grains.Sessions;
using GrantSilo.Grains.Tasks;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Storage;
using Orleans.TestingHost;

namespace GrantSilo.Grains.Tests;

/// <summary>
/// Every grain checks the shape of its own key on the silo, as the SDK checks ids: a grain addressed (through a
/// raw Orleans client) by a key GrantSilo could never have issued refuses with a typed error and writes nothing.
/// </summary>
[Collection(ClusterCollection.Name)]
public class GrainKeyTests(ClusterFixture fixture)
{
    private readonly Scenario _s = new(fixture);

    private IGrainFactory Grains => fixture.Cluster.Client;

    private async Task<bool> StoredAsync<TState>(string stateName, GrainId grain)
    {
        var storage = ((InProcessSiloHandle)fixture.Cluster.Primary!).SiloHost.Services.GetRequiredKeyedService<IGrainStorage>(GrantSiloStorage.Name);
        var state = new GrainState<TState>();
        await storage.ReadStateAsync(stateName, grain, state);
        return state.RecordExists;
    }

    [Theory]
    [InlineData("spiffe://ACME.dev/agent/x")]
    [InlineData("spiffe://acme.dev/agent/../x")]
    [InlineData("agent\u200bx")]
    public async Task Agent_WithAMalformedKey_RefusesEverything_AndWritesNothing(string key)
    {
        var agent = Grains.GetGrain<IAgentGrain>(key);
        var registered = await agent.RegisterAsync(new AgentRegistration { Owner = "person:owner@test.dev", Ceiling = Scenario.Scope(0, "repo:read:acme/*") });
        Assert.Equal(GrantErrorCode.InvalidIdentifier, registered.Error?.Code);
        Assert.Equal(GrantErrorCode.InvalidIdentifier, (await agent.GetAsync()).Error?.Code);
        Assert.Equal(GrantErrorCode.InvalidIdentifier, (await agent.OpenSessionAsync(new OpenSessionRequest { Agent = key })).Error?.Code);
        Assert.Equal(GrantErrorCode.InvalidIdentifier, (await Grains.GetGrain<IAgentLifecycleGrain>(key).RecordTaskAsync(TaskGrain.NewTaskId())).Error?.Code);
        Assert.False(await StoredAsync<AgentState>("agent", agent.GetGrainId()));
        Assert.False(await StoredAsync<AgentIndexState>("agent-index", agent.GetGrainId()));
    }

    [Fact]
    public async Task WellFormedKeys_AreStoredWhereTheseTestsLook()
    {
        // The control for the tests above and below: the same read finds what a well-formed grain wrote.
        var agent = await _s.AgentAsync("stored", Scenario.Scope(1, "repo:read:acme/*"));
        Assert.True(await StoredAsync<AgentState>("agent", Grains.GetGrain<IAgentGrain>(agent).GetGrainId()));
        var task = await _s.RootTaskAsync(agent, Scenario.Scope(1, "repo:read:acme/*"));
        Assert.True(await StoredAsync<TaskState>("task", Grains.GetGrain<ITaskGrain>(task.TaskId).GetGrainId()));
        var (session, credential) = await _s.CredentialAsync(agent, task.TaskId);
        Assert.True(await StoredAsync<SessionState>("session", Grains.GetGrain<ISessionGrain>(session).GetGrainId()));
        Assert.True(await StoredAsync<CredentialState>("credential", Grains.GetGrain<ICredentialGrain>(credential.CredentialId).GetGrainId()));
    }

    [Theory]
    [InlineData("t with spaces")]
    [InlineData("t/with/slashes")]
    [InlineData("t-caf\u00e9")]
    public async Task Task_WithAMalformedKey_RefusesEverything_AndWritesNothing(string key)
    {
        var agent = await _s.AgentAsync("tasks", Scenario.Scope(1, "repo:read:acme/*"));
        var task = Grains.GetGrain<ITaskGrain>(key);
        var created = await task.CreateAsync(new CreateTaskRequest { Person = "person:alice@test.dev", Orchestrator = "orchestrator:test", Agent = agent, Scope = Scenario.Scope(0, "repo:read:acme/*"), Lifetime = TimeSpan.FromHours(1) });
        Assert.Equal(GrantErrorCode.InvalidIdentifier, created.Error?.Code);
        Assert.Equal(GrantErrorCode.InvalidIdentifier, (await task.GetAsync()).Error?.Code);
        Assert.Equal(GrantErrorCode.InvalidIdentifier, (await task.RevokeAsync("x")).Error?.Code);
        Assert.Equal(GrantErrorCode.InvalidIdentifier, (await Grains.GetGrain<ITaskLifecycleGrain>(key).AttachSessionAsync("s-1", agent)).Error?.Code);
        Assert.False(await StoredAsync<TaskState>("task", task.GetGrainId()));
        Assert.Equal(0, (await _s.Client.GetAgentAsync(agent)).Value.LiveTasks);
    }

    [Theory]
    [InlineData("s with spaces")]
    [InlineData("s/../x")]
    public async Task Session_WithAMalformedKey_RefusesEverything_AndWritesNothing(string key)
    {
        var session = Grains.GetGrain<ISessionGrain>(key);
        var initialized = await Grains.GetGrain<ISessionLifecycleGrain>(key).InitializeAsync(new SessionSpec { Agent = "spiffe://test.dev/agent/x", IdleTimeout = TimeSpan.FromMinutes(5), MaxLifetime = TimeSpan.FromHours(1) });
        Assert.Equal(GrantErrorCode.InvalidIdentifier, initialized.Error?.Code);
        Assert.Equal(GrantErrorCode.InvalidIdentifier, (await session.GetAsync()).Error?.Code);
        Assert.Equal(GrantErrorCode.InvalidIdentifier, (await session.IssueCredentialAsync(new IssueCredentialRequest { TaskId = "t-1" })).Error?.Code);
        Assert.Equal(GrantErrorCode.InvalidIdentifier, (await session.EndAsync("x")).Error?.Code);
        Assert.False(await StoredAsync<SessionState>("session", session.GetGrainId()));
    }

    [Theory]
    [InlineData("not-a-credential-id")]
    [InlineData("AAAAAAAAAAAAAAAAAAAAAB")] // 22 characters, but trailing bits set: not the canonical spelling of any id
    public async Task Credential_WithAMalformedKey_DeniesAndRefuses_AndWritesNothing(string key)
    {
        var credential = Grains.GetGrain<ICredentialGrain>(key);
        var decision = await credential.AuthorizeAsync(new byte[32], "read", Scenario.Document);
        Assert.False(decision.IsAllowed);
        Assert.Equal(DecisionReason.MalformedToken, decision.Reason);
        Assert.False((await credential.IntrospectAsync(new byte[32])).Active);
        Assert.Equal(GrantErrorCode.InvalidIdentifier, (await credential.GetAsync()).Error?.Code);
        Assert.Equal(GrantErrorCode.InvalidIdentifier, (await credential.RevokeAsync("x")).Error?.Code);
        Assert.False(await StoredAsync<CredentialState>("credential", credential.GetGrainId()));
    }

    [Theory]
    [InlineData("ap with spaces")]
    [InlineData("ap/x")]
    public async Task Approval_WithAMalformedKey_RefusesEverything_AndWritesNothing(string key)
    {
        var approval = Grains.GetGrain<IApprovalGrain>(key);
        Assert.Equal(GrantErrorCode.InvalidIdentifier, (await approval.GetAsync()).Error?.Code);
        Assert.Equal(GrantErrorCode.InvalidIdentifier, (await approval.ApproveAsync("person:alice@test.dev", null)).Error?.Code);
        var created = await Grains.GetGrain<IApprovalLifecycleGrain>(key).CreateAsync(new ApprovalSpec
        {
            CredentialId = CredentialToken.NewCredentialId(), TaskId = "t-1", Agent = "spiffe://test.dev/agent/x", RootPerson = "person:alice@test.dev",
            Action = "read", Resource = Scenario.Document,
        });
        Assert.Equal(GrantErrorCode.InvalidIdentifier, created.Error?.Code);
        Assert.False(await StoredAsync<ApprovalState>("approval", approval.GetGrainId()));
    }
}
