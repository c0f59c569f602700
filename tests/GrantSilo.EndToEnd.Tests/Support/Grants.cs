using GrantSilo.Client;

namespace GrantSilo.EndToEnd.Tests.Support;

/// <summary>Agents, tasks and credentials for end-to-end tests, each with fresh ids.</summary>
internal sealed class Grants(GrantClient client)
{
    private readonly string _run = Guid.NewGuid().ToString("N")[..8];

    public static readonly ResourceRef Document = new() { Type = "repo", Path = "acme/payments/README.md" };

    public GrantClient Client => client;

    public static Scope ScopeOf(int depth, params string[] permissions) => Scope.Create(permissions, DataClassification.Confidential, depth).Value;

    public async Task<string> AgentAsync(string name, Scope ceiling)
    {
        var id = $"spiffe://e2e.dev/{_run}/{name}";
        var result = await Retry(() => client.RegisterAgentAsync(id, new AgentRegistration { Owner = "person:alice@e2e.dev", Ceiling = ceiling }));
        Assert.True(result.IsSuccess, result.Error?.ToString());
        return id;
    }

    public async Task<TaskInfo> RootTaskAsync(string agent, Scope scope, TimeSpan lifetime)
    {
        var result = await Retry(() => client.CreateTaskAsync(new CreateTaskRequest
        {
            Person = "person:alice@e2e.dev",
            Orchestrator = "orchestrator:e2e",
            Agent = agent,
            Scope = scope,
            Lifetime = lifetime,
        }));
        Assert.True(result.IsSuccess, result.Error?.ToString());
        return result.Value;
    }

    public async Task<TaskInfo> DelegateAsync(TaskInfo parent, IssuedCredential proof, string agent, Scope scope, TimeSpan lifetime)
    {
        var result = await Retry(() => client.DelegateAsync(parent.TaskId, new DelegationRequest { ProofToken = proof.Token, Agent = agent, Scope = scope, Lifetime = lifetime }));
        Assert.True(result.IsSuccess, result.Error?.ToString());
        return result.Value;
    }

    public async Task<IssuedCredential> CredentialAsync(string agent, string taskId, TimeSpan? lifetime = null)
    {
        var session = await Retry(() => client.OpenSessionAsync(new OpenSessionRequest { Agent = agent }));
        Assert.True(session.IsSuccess, session.Error?.ToString());
        var credential = await Retry(() => client.IssueCredentialAsync(session.Value.SessionId, new IssueCredentialRequest { TaskId = taskId, Lifetime = lifetime }));
        Assert.True(credential.IsSuccess, credential.Error?.ToString());
        return credential.Value;
    }

    public Task<Decision> AuthorizeAsync(IssuedCredential credential) =>
        client.AuthorizeAsync(credential.Token, "read", Document);

    /// <summary>Authorizes, retrying while the answer is a fail-closed error (the cluster is settling), up to a deadline.</summary>
    public Task<Decision> AuthorizeSettledAsync(IssuedCredential credential, TimeSpan? timeout = null) =>
        Eventually.LastAsync(() => AuthorizeAsync(credential), d => d.Reason != DecisionReason.Error, timeout ?? TimeSpan.FromSeconds(60));

    /// <summary>Retries a call that came back Unavailable (the cluster is settling), up to a deadline.</summary>
    public static Task<GrantResult<T>> Retry<T>(Func<Task<GrantResult<T>>> call, TimeSpan? timeout = null) =>
        Eventually.LastAsync(call, r => r.IsSuccess || r.Error.Code != GrantErrorCode.Unavailable, timeout ?? TimeSpan.FromSeconds(60));
}
