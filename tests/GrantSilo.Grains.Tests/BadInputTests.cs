namespace GrantSilo.Grains.Tests;

[Collection(ClusterCollection.Name)]
public class BadInputTests(ClusterFixture fixture)
{
    private readonly Scenario _s = new(fixture);

    [Fact]
    public async Task EmptyAndForbiddenIds_GetTypedErrors()
    {
        Assert.Equal(GrantErrorCode.InvalidIdentifier, (await _s.Client.GetTaskAsync("")).Error?.Code);
        Assert.Equal(GrantErrorCode.InvalidIdentifier, (await _s.Client.RevokeTaskAsync("t-\u202Eevil", "x")).Error?.Code);
        Assert.Equal(GrantErrorCode.InvalidIdentifier, (await _s.Client.RegisterAgentAsync("", new AgentRegistration { Owner = "o", Ceiling = Scope.Empty })).Error?.Code);
        Assert.Equal(GrantErrorCode.InvalidIdentifier, (await _s.Client.RegisterAgentAsync("spiffe://acme.dev/", new AgentRegistration { Owner = "o", Ceiling = Scope.Empty })).Error?.Code);
        Assert.Equal(GrantErrorCode.AgentNotFound, (await _s.Client.GetAgentAsync("spiffe://nobody.dev/agent")).Error?.Code);
        var noOwner = await _s.Client.RegisterAgentAsync("spiffe://test.dev/no-owner", new AgentRegistration { Owner = "", Ceiling = Scope.Empty });
        Assert.Equal(GrantErrorCode.InvalidIdentifier, noOwner.Error?.Code);
        Assert.Equal(GrantErrorCode.AgentNotFound, (await _s.Client.GetAgentAsync("spiffe://test.dev/no-owner")).Error?.Code);
    }

    [Fact]
    public async Task UnknownTaskSessionAndCredential_GetTypedErrors()
    {
        Assert.Equal(GrantErrorCode.TaskNotFound, (await _s.Client.GetTaskAsync("t-unknown")).Error?.Code);
        Assert.Equal(GrantErrorCode.TaskNotFound, (await _s.Client.RevokeTaskAsync("t-unknown", "x")).Error?.Code);
        Assert.Equal(GrantErrorCode.SessionNotFound, (await _s.Client.GetSessionAsync("s-unknown")).Error?.Code);
        // Only a session's own agent is issued credentials from it: anyone else is refused whether or not the
        // session exists (its existence is not told to a caller without a relation to it).
        Assert.Equal(GrantErrorCode.Forbidden, (await _s.Client.IssueCredentialAsync("s-unknown", new IssueCredentialRequest { TaskId = "t" })).Error?.Code);
        Assert.Equal(GrantErrorCode.CredentialNotFound, (await _s.Client.RevokeCredentialAsync(CredentialToken.NewCredentialId(), "x")).Error?.Code);
        // Asking about unknown ids creates nothing.
        Assert.Equal(GrantErrorCode.TaskNotFound, (await _s.Client.GetTaskAsync("t-unknown")).Error?.Code);

        var scope = Scenario.Scope(0, "doc:read:*");
        var agent = await _s.AgentAsync("worker", scope);
        var session = (await _s.Client.OpenSessionAsync(new OpenSessionRequest { Agent = agent })).Value;
        Assert.Equal(GrantErrorCode.TaskNotFound, (await _s.Client.IssueCredentialAsync(session.SessionId, new IssueCredentialRequest { TaskId = "t-unknown" })).Error?.Code);
    }

    [Fact]
    public async Task HugeOrMalformedScopes_AndBadLifetimes_AreRefusedWithoutChanges()
    {
        var scope = Scenario.Scope(0, "doc:read:*");
        var agent = await _s.AgentAsync("worker", scope);

        var huge = Scope.Create(Enumerable.Range(0, 10_000).Select(i => $"doc:read:p{i}"));
        Assert.Equal(GrantErrorCode.ScopeTooLarge, huge.Error?.Code);

        var request = new CreateTaskRequest { Person = "p", Orchestrator = "o", Agent = agent, Scope = scope, Lifetime = TimeSpan.Zero };
        Assert.Equal(GrantErrorCode.LifetimeInvalid, (await _s.Client.CreateTaskAsync(request)).Error?.Code);
        Assert.Equal(GrantErrorCode.LifetimeInvalid, (await _s.Client.CreateTaskAsync(request with { Lifetime = TimeSpan.FromDays(365) })).Error?.Code);
        Assert.Equal(GrantErrorCode.ScopeExceedsCeiling, (await _s.Client.CreateTaskAsync(request with { Lifetime = TimeSpan.FromHours(1), Scope = Scenario.Scope(0, "doc:write:*") })).Error?.Code);
        Assert.Equal(GrantErrorCode.InvalidIdentifier, (await _s.Client.CreateTaskAsync(request with { Lifetime = TimeSpan.FromHours(1), Person = "" })).Error?.Code);
        Assert.Equal(GrantErrorCode.InvalidArgument, (await _s.Client.CreateTaskAsync(request with { Lifetime = TimeSpan.FromHours(1), Purpose = new string('x', 100_000) })).Error?.Code);
        Assert.Equal(0, (await _s.Client.GetAgentAsync(agent)).Value.LiveTasks);
    }

    [Fact]
    public async Task RegisteringAnAgentAgain_IsIdempotentOrAConflict()
    {
        var scope = Scenario.Scope(0, "doc:read:*");
        var agent = await _s.AgentAsync("worker", scope);
        Assert.True((await _s.Client.RegisterAgentAsync(agent, new AgentRegistration { Owner = "person:owner@test.dev", Ceiling = scope })).IsSuccess);
        var conflict = await _s.Client.RegisterAgentAsync(agent, new AgentRegistration { Owner = "person:mallory@test.dev", Ceiling = Scenario.Scope(0, "doc:*:*") });
        Assert.Equal(GrantErrorCode.AgentAlreadyExists, conflict.Error?.Code);
        Assert.Equal("person:owner@test.dev", (await _s.Client.GetAgentAsync(agent)).Value.Owner);
    }
}
