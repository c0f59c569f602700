using GrantSilo.GrainInterfaces;

namespace GrantSilo.Grains.Tests;

/// <summary>A token passed where an id belongs never comes back, in part or whole, in what the caller sees.</summary>
[Collection(ClusterCollection.Name)]
public class SecretInErrorsTests(ClusterFixture fixture)
{
    private readonly Scenario _s = new(fixture);

    private static void AssertNoSecret(string secret, string call, GrantError? error)
    {
        Assert.True(error is not null, $"{call} succeeded with a token for an id");
        foreach (var text in new[] { error.Message, error.Target, error.Permission, error.ToString() })
        {
            if (text is null)
            {
                continue;
            }
            for (var i = 0; i + 8 <= secret.Length; i++)
            {
                Assert.False(text.Contains(secret.Substring(i, 8), StringComparison.OrdinalIgnoreCase), $"{call} echoed part of the secret: {text}");
            }
        }
    }

    [Fact]
    public async Task TokenPassedAsAnId_TheClientRefusesIt_WithoutEchoingIt()
    {
        var scope = Scenario.Scope(1, "doc:read:*");
        var agent = await _s.AgentAsync("worker", scope);
        var task = await _s.RootTaskAsync(agent, scope);
        var (session, credential) = await _s.CredentialAsync(agent, task.TaskId);
        var token = credential.Token;
        var secret = token[(token.LastIndexOf('.') + 1)..];
        var client = _s.Client;

        var errors = new (string Call, GrantError? Error)[]
        {
            ("GetCredentialAsync", (await client.GetCredentialAsync(token)).Error),
            ("RevokeCredentialAsync", (await client.RevokeCredentialAsync(token, "leaked")).Error),
            ("GetTaskAsync", (await client.GetTaskAsync(token)).Error),
            ("GetTaskTreeAsync", (await client.GetTaskTreeAsync(token)).Error),
            ("RevokeTaskAsync", (await client.RevokeTaskAsync(token, "x")).Error),
            ("CompleteTaskAsync", (await client.CompleteTaskAsync(token)).Error),
            ("ReauthorizeTaskAsync", (await client.ReauthorizeTaskAsync(token)).Error),
            ("DelegateAsync", (await _s.DelegateAsync(token, token, agent, Scenario.Scope(0, "doc:read:*"))).Error),
            ("GetSessionAsync", (await client.GetSessionAsync(token)).Error),
            ("EndSessionAsync", (await client.EndSessionAsync(token, "x")).Error),
            ("IssueCredentialAsync(session id)", (await client.IssueCredentialAsync(token, new IssueCredentialRequest { TaskId = task.TaskId })).Error),
            ("IssueCredentialAsync(task id)", (await client.IssueCredentialAsync(session, new IssueCredentialRequest { TaskId = token })).Error),
            ("GetAgentAsync", (await client.GetAgentAsync(token)).Error),
            ("SuspendAgentAsync", (await client.SuspendAgentAsync(token, "x")).Error),
            ("GetApprovalAsync", (await client.GetApprovalAsync(token)).Error),
            ("ApproveAsync", (await client.ApproveAsync(token, "person:bob@test.dev")).Error),
            ("DenyApprovalAsync", (await client.DenyApprovalAsync(token, "person:bob@test.dev")).Error),
        };
        foreach (var (call, error) in errors)
        {
            AssertNoSecret(secret, call, error);
            Assert.Equal(GrantErrorCode.InvalidIdentifier, error!.Code);
        }

        var decision = await client.AuthorizeAsync(token, "read", new ResourceRef { Type = "doc", Path = "a" }, approvalId: token);
        Assert.Equal(DecisionKind.Deny, decision.Kind);
        Assert.DoesNotContain(secret[..8], decision.Detail ?? "", StringComparison.OrdinalIgnoreCase);

        // Nothing was revoked or ended by any of these calls.
        Assert.True((await _s.AuthorizeAsync(credential, "read", "doc", "a")).IsAllowed);
    }

    [Fact]
    public async Task TokenUsedAsAGrainKey_TheGrainsNeverEchoIt()
    {
        // Another door (a future HTTP API, a hand-written client) could address grains with any string.
        var scope = Scenario.Scope(0, "doc:read:*");
        var agent = await _s.AgentAsync("worker", scope);
        var task = await _s.RootTaskAsync(agent, scope);
        var (_, credential) = await _s.CredentialAsync(agent, task.TaskId);
        var token = credential.Token;
        var secret = token[(token.LastIndexOf('.') + 1)..];
        var grains = fixture.Cluster.Client;

        var errors = new (string Call, GrantError? Error)[]
        {
            ("ICredentialGrain.GetAsync", (await grains.GetGrain<ICredentialGrain>(token).GetAsync()).Error),
            ("ICredentialGrain.RevokeAsync", (await grains.GetGrain<ICredentialGrain>(token).RevokeAsync("x")).Error),
            ("ITaskGrain.GetAsync", (await grains.GetGrain<ITaskGrain>(token).GetAsync()).Error),
            ("ITaskGrain.RevokeAsync", (await grains.GetGrain<ITaskGrain>(token).RevokeAsync("x")).Error),
            ("ITaskGrain.ReauthorizeAsync", (await grains.GetGrain<ITaskGrain>(token).ReauthorizeAsync()).Error),
            ("ITaskGrain.CreateAsync", (await grains.GetGrain<ITaskGrain>(token).CreateAsync(new CreateTaskRequest
            {
                Person = "person:alice@test.dev", Orchestrator = "orchestrator:test", Agent = agent, Scope = scope, Lifetime = TimeSpan.FromHours(1),
            })).Error),
            ("ISessionGrain.GetAsync", (await grains.GetGrain<ISessionGrain>(token).GetAsync()).Error),
            ("ISessionGrain.IssueCredentialAsync", (await grains.GetGrain<ISessionGrain>(token).IssueCredentialAsync(new IssueCredentialRequest { TaskId = task.TaskId })).Error),
            ("IAgentGrain.OpenSessionAsync", (await grains.GetGrain<IAgentGrain>(token).OpenSessionAsync(new OpenSessionRequest { Agent = token })).Error),
            ("IAgentGrain.GetAsync", (await grains.GetGrain<IAgentGrain>(token).GetAsync()).Error),
            ("IAgentGrain.RegisterAsync", (await grains.GetGrain<IAgentGrain>(token).RegisterAsync(new AgentRegistration { Owner = "person:o@test.dev", Ceiling = scope })).Error),
            ("IApprovalGrain.GetAsync", (await grains.GetGrain<IApprovalGrain>(token).GetAsync()).Error),
            ("IApprovalGrain.ApproveAsync", (await grains.GetGrain<IApprovalGrain>(token).ApproveAsync("person:bob@test.dev", null)).Error),
        };
        foreach (var (call, error) in errors)
        {
            AssertNoSecret(secret, call, error);
        }
        // What precedes the signature may be shown (cut short): never the signature, without which the token is nothing.
        Assert.Equal(Untrusted.Id(token), errors[0].Error!.Target);
        Assert.EndsWith(Untrusted.Redacted, errors[0].Error!.Target, StringComparison.Ordinal);
    }
}
