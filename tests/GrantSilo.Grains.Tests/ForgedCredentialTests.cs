using Microsoft.Extensions.DependencyInjection;
using GrantSilo.Grains.Credentials;
using GrantSilo.Grains.Tasks;

namespace GrantSilo.Grains.Tests;

/// <summary>
/// A credential spec sent straight to <see cref="ICredentialLifecycleGrain.InitializeAsync"/> is refused to a
/// client at the door (the interface is internal); sent from inside the cluster (as by a forger in a silo,
/// through the silo's own grain factory) it is checked against its task and session: it is never wider than its task, never outlives it,
/// belongs to the task's agent and was issued by the session; a refusal creates nothing, and its token allows nothing.
/// </summary>
[Collection(ClusterCollection.Name)]
public class ForgedCredentialTests(ClusterFixture fixture)
{
    private readonly Scenario _s = new(fixture);

    private static readonly Scope PublicDocs = GrantSilo.Scope.Create(["doc:read:public/*"], DataClassification.Internal).Value;

    private async Task<(string Agent, TaskInfo Task, string Session)> TaskAsync(TimeSpan? lifetime = null)
    {
        var agent = await _s.AgentAsync("reader", PublicDocs);
        var task = await _s.RootTaskAsync(agent, PublicDocs, lifetime);
        var (session, _) = await _s.CredentialAsync(agent, task.TaskId);
        return (agent, task, session);
    }

    // A spec as the session would build it, for a fresh credential id; the test then forges one field.
    private CredentialSpec Spec(string agent, TaskInfo task, string session, byte[] hash) => new()
    {
        TaskId = task.TaskId,
        Agent = agent,
        SessionId = session,
        Scope = task.Scope,
        IssuedAt = fixture.Time.GetUtcNow(),
        ExpiresAt = fixture.Time.GetUtcNow() + TimeSpan.FromMinutes(5),
        SecretHash = hash,
    };

    private async Task<GrantError?> ForgeAndCheckNothingCreatedAsync(Func<byte[], CredentialSpec> spec)
    {
        var id = CredentialToken.NewCredentialId();
        var (token, hash) = ForgedTokens.WithHash(id);
        TestIdentity.Attach(TestIdentity.Shared.HarnessToken());
        var fromClient = await fixture.Cluster.Client.GetGrain<ICredentialLifecycleGrain>(id).InitializeAsync(spec(hash));
        Assert.Equal(GrantErrorCode.Forbidden, fromClient.Error?.Code);
        var result = await fixture.SiloGrains.GetGrain<ICredentialLifecycleGrain>(id).InitializeAsync(spec(hash));
        Assert.False(result.IsSuccess);
        Assert.Equal(GrantErrorCode.CredentialNotFound, (await _s.Client.GetCredentialAsync(id)).Error?.Code);
        var decision = await _s.Client.AuthorizeAsync(token, "read", new ResourceRef { Type = "doc", Path = "public/readme" });
        Assert.False(decision.IsAllowed);
        Assert.Equal(DecisionReason.UnknownCredential, decision.Reason);
        return result.Error;
    }

    [Fact]
    public async Task InitializeCredential_RefusesAScopeWiderThanItsTask_AndCreatesNothing()
    {
        var (agent, task, session) = await TaskAsync();
        var wide = GrantSilo.Scope.Create(["db:*:*"], DataClassification.Restricted).Value;
        var error = await ForgeAndCheckNothingCreatedAsync(hash => Spec(agent, task, session, hash) with { Scope = wide });
        Assert.Equal(GrantErrorCode.ScopeExceedsParent, error?.Code);
        Assert.Equal("db:*:*", error?.Permission);
    }

    [Fact]
    public async Task InitializeCredential_RefusesAClassificationAboveItsTasks()
    {
        var (agent, task, session) = await TaskAsync();
        var restricted = GrantSilo.Scope.Create(["doc:read:public/*"], DataClassification.Restricted).Value;
        var error = await ForgeAndCheckNothingCreatedAsync(hash => Spec(agent, task, session, hash) with { Scope = restricted });
        Assert.Equal(GrantErrorCode.ScopeExceedsParent, error?.Code);
        Assert.Equal("classification<=Restricted", error?.Permission);
    }

    [Fact]
    public async Task InitializeCredential_RefusesATenYearLife()
    {
        var (agent, task, session) = await TaskAsync();
        var error = await ForgeAndCheckNothingCreatedAsync(hash => Spec(agent, task, session, hash) with { ExpiresAt = fixture.Time.GetUtcNow().AddYears(10) });
        Assert.Equal(GrantErrorCode.LifetimeInvalid, error?.Code);
    }

    [Fact]
    public async Task InitializeCredential_RefusesOutlivingItsTask()
    {
        var (agent, task, session) = await TaskAsync(lifetime: TimeSpan.FromMinutes(3));
        var error = await ForgeAndCheckNothingCreatedAsync(hash => Spec(agent, task, session, hash) with { ExpiresAt = task.ExpiresAt + TimeSpan.FromMinutes(1) });
        Assert.Equal(GrantErrorCode.LifetimeInvalid, error?.Code);
    }

    [Fact]
    public async Task InitializeCredential_RefusesAnotherAgentThanTheTasks()
    {
        var (_, task, _) = await TaskAsync();
        var other = await _s.AgentAsync("other", PublicDocs);
        var otherSession = (await _s.Client.OpenSessionAsync(new OpenSessionRequest { Agent = other })).Value.SessionId;
        var error = await ForgeAndCheckNothingCreatedAsync(hash => Spec(other, task, otherSession, hash));
        Assert.Equal(GrantErrorCode.TaskNotAssignedToAgent, error?.Code);
    }

    [Fact]
    public async Task InitializeCredential_RefusesASpecWithinItsTaskThatNoSessionIssued()
    {
        var (agent, task, session) = await TaskAsync();
        var error = await ForgeAndCheckNothingCreatedAsync(hash => Spec(agent, task, session, hash));
        Assert.Equal(GrantErrorCode.InvalidArgument, error?.Code);
    }

    [Fact]
    public async Task InitializeCredential_RefusesAnEndedSession()
    {
        var (agent, task, session) = await TaskAsync();
        Assert.True((await _s.Client.EndSessionAsync(session, "done")).IsSuccess);
        var error = await ForgeAndCheckNothingCreatedAsync(hash => Spec(agent, task, session, hash));
        Assert.Equal(GrantErrorCode.SessionNotActive, error?.Code);
    }

    // Task facts as a forger would write them: whatever it wants the credential to believe about the task.
    private static TaskFacts ClaimedFacts(string agent, Scope scope) => new()
    {
        Exists = true,
        Self = new ChainCheck { Usable = true, Reason = DecisionReason.Allowed, Agent = agent },
        Agent = agent,
        Scope = scope,
        ExpiresAt = DateTimeOffset.MaxValue,
    };

    [Fact]
    public async Task InitializeCredential_WithTaskFactsNotSentByItsSession_StillAsksTheTask()
    {
        // Only the issuing session's own call is taken at its word: from anywhere else the task is asked.
        var (agent, task, session) = await TaskAsync();
        var wide = GrantSilo.Scope.Create(["db:*:*"], DataClassification.Restricted).Value;
        var error = await ForgeAndCheckNothingCreatedAsync(hash => Spec(agent, task, session, hash) with { Scope = wide, IssuedUnder = ClaimedFacts(agent, wide) });
        Assert.Equal(GrantErrorCode.ScopeExceedsParent, error?.Code);
        Assert.Equal("db:*:*", error?.Permission);
    }

    [Fact]
    public async Task InitializeCredential_WithTaskFactsNotSentByItsSession_StillAsksTheSession()
    {
        // Within its task, with facts that say so, but no session indexed it: refused, as without the facts.
        var (agent, task, session) = await TaskAsync();
        var error = await ForgeAndCheckNothingCreatedAsync(hash => Spec(agent, task, session, hash) with { IssuedUnder = ClaimedFacts(agent, task.Scope) });
        Assert.Equal(GrantErrorCode.InvalidArgument, error?.Code);
    }

    [Fact]
    public async Task InitializeCredential_WithTheIssuerProofOfAnotherCredential_StillAsksTheTask()
    {
        // A genuine keyed word from the session, made for another credential (or task): not this credential's.
        var (agent, task, session) = await TaskAsync();
        var key = ((Orleans.TestingHost.InProcessSiloHandle)fixture.Cluster.Primary!).SiloHost.Services.GetRequiredService<GrantSilo.Grains.Access.ClusterCallKey>();
        var wide = GrantSilo.Scope.Create(["db:*:*"], DataClassification.Restricted).Value;
        var otherCredential = key.IssuedBy(session, CredentialToken.NewCredentialId(), task.TaskId);
        var error = await ForgeAndCheckNothingCreatedAsync(hash => Spec(agent, task, session, hash) with { Scope = wide, IssuedUnder = ClaimedFacts(agent, wide), IssuerProof = otherCredential });
        Assert.Equal(GrantErrorCode.ScopeExceedsParent, error?.Code);
    }

    [Fact]
    public async Task IssuedCredentials_StillPassTheirOwnChecks()
    {
        var (agent, task, _) = await TaskAsync();
        var narrow = GrantSilo.Scope.Create(["doc:read:public/a/*"], DataClassification.Public).Value;
        var (_, credential) = await _s.CredentialAsync(agent, task.TaskId, narrow);
        Assert.Equal(narrow, credential.Scope);
        Assert.True((await _s.AuthorizeAsync(credential, "read", "doc", "public/a/b", DataClassification.Public)).IsAllowed);
    }
}
