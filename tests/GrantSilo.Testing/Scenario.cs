using GrantSilo.Client;

namespace GrantSilo.Testing;

/// <summary>
/// Builds agents, tasks, sessions and credentials for a test, each with fresh ids. In-process tests fail
/// at the first refusal; tests against real processes pass <c>settling</c>, so a call that comes back
/// <see cref="GrantErrorCode.Unavailable"/> while the cluster settles is retried up to that long.
/// </summary>
public sealed class Scenario(Func<IGrantClient> client, TimeSpan? settling = null)
{
    private readonly string _run = Guid.NewGuid().ToString("N")[..8];

    public Scenario(IGrantClient client, TimeSpan? settling = null)
        : this(() => client, settling)
    {
    }

    public Scenario(GrantSiloClusterFixture fixture)
        : this(() => fixture.Client)
    {
    }

    /// <summary>The resource the short <see cref="AuthorizeAsync(IssuedCredential)"/> reads.</summary>
    public static readonly ResourceRef Document = new() { Type = "repo", Path = "acme/payments/README.md" };

    public IGrantClient Client => client();

    public static Scope Scope(int depth, params string[] permissions) =>
        GrantSilo.Scope.Create(permissions, DataClassification.Confidential, depth).Value;

    public async Task<string> AgentAsync(string name, Scope ceiling)
    {
        var id = $"spiffe://test.dev/{_run}/{name}";
        var result = await Settled(() => Client.RegisterAgentAsync(id, new AgentRegistration { Owner = "person:owner@test.dev", Ceiling = ceiling }));
        Assert.True(result.IsSuccess, result.Error?.ToString());
        return id;
    }

    public async Task<TaskInfo> RootTaskAsync(string agent, Scope scope, TimeSpan? lifetime = null, TimeSpan? checkpoint = null)
    {
        var result = await Settled(() => Client.CreateTaskAsync(new CreateTaskRequest
        {
            Person = "person:alice@test.dev",
            Agent = agent,
            Scope = scope,
            Lifetime = lifetime ?? TimeSpan.FromHours(2),
            CheckpointInterval = checkpoint,
            Purpose = "test task",
        }));
        Assert.True(result.IsSuccess, result.Error?.ToString());
        return result.Value;
    }

    /// <summary>A new session of <paramref name="agent"/> and a credential for <paramref name="taskId"/> issued in it.</summary>
    public async Task<(string Session, IssuedCredential Credential)> CredentialAsync(string agent, string taskId, Scope? scope = null, TimeSpan? lifetime = null)
    {
        var session = await Settled(() => Client.OpenSessionAsync(new OpenSessionRequest { Agent = agent }));
        Assert.True(session.IsSuccess, session.Error?.ToString());
        var credential = await Settled(() => Client.IssueCredentialAsync(session.Value.SessionId, new IssueCredentialRequest { TaskId = taskId, Scope = scope, Lifetime = lifetime }));
        Assert.True(credential.IsSuccess, credential.Error?.ToString());
        return (session.Value.SessionId, credential.Value);
    }

    /// <summary>Just the credential of <see cref="CredentialAsync"/>.</summary>
    public async Task<IssuedCredential> IssueAsync(string agent, string taskId, TimeSpan? lifetime = null) =>
        (await CredentialAsync(agent, taskId, lifetime: lifetime)).Credential;

    /// <summary>Asks for a delegation; the caller asserts on the result.</summary>
    public Task<GrantResult<TaskInfo>> DelegateAsync(string parentTaskId, string proofToken, string agent, Scope scope, TimeSpan? lifetime = null) =>
        Settled(() => Client.DelegateAsync(parentTaskId, new DelegationRequest
        {
            ProofToken = proofToken,
            Agent = agent,
            Scope = scope,
            Lifetime = lifetime ?? TimeSpan.FromHours(1),
            Purpose = "delegated",
        }));

    /// <summary>A delegation that must succeed.</summary>
    public async Task<TaskInfo> DelegateAsync(TaskInfo parent, IssuedCredential proof, string agent, Scope scope, TimeSpan lifetime)
    {
        var result = await DelegateAsync(parent.TaskId, proof.Token, agent, scope, lifetime);
        Assert.True(result.IsSuccess, result.Error?.ToString());
        return result.Value;
    }

    public Task<Decision> AuthorizeAsync(IssuedCredential credential, string action, string type, string path, DataClassification classification = DataClassification.Internal) =>
        Client.AuthorizeAsync(credential.Token, action, new ResourceRef { Type = type, Path = path, Classification = classification });

    /// <summary>Reads <see cref="Document"/>.</summary>
    public Task<Decision> AuthorizeAsync(IssuedCredential credential) =>
        Client.AuthorizeAsync(credential.Token, "read", Document);

    /// <summary>Authorizes, retrying while the answer is a fail-closed error (the cluster is settling), up to a deadline.</summary>
    public Task<Decision> AuthorizeSettledAsync(IssuedCredential credential, TimeSpan? timeout = null) =>
        Eventually.LastAsync(() => AuthorizeAsync(credential), d => d.Reason != DecisionReason.Error, timeout ?? settling ?? TimeSpan.FromSeconds(60));

    /// <summary>Waits (polling, with a deadline) until every node of the tree satisfies a condition; cascades below the first level run asynchronously.</summary>
    public Task<TaskTreeNode> TreeWhenAsync(string rootTaskId, Func<TaskInfo, bool> condition) =>
        Eventually.LastAsync(async () => (await Client.GetTaskTreeAsync(rootTaskId)).Value, tree => tree.DescendantsAndSelf().All(n => condition(n.Task)));

    /// <summary>Retries a call that came back Unavailable (the cluster is settling), up to a deadline.</summary>
    public static Task<GrantResult<T>> Retry<T>(Func<Task<GrantResult<T>>> call, TimeSpan? timeout = null) =>
        Eventually.LastAsync(call, r => r.IsSuccess || r.Error.Code != GrantErrorCode.Unavailable, timeout ?? TimeSpan.FromSeconds(60));

    private Task<GrantResult<T>> Settled<T>(Func<Task<GrantResult<T>>> call) =>
        settling is { } timeout ? Retry(call, timeout) : call();
}
