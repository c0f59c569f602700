using GrantSilo.Client;

namespace GrantSilo.Grains.Tests;

/// <summary>Builds agents, tasks, sessions and credentials for a test, each with fresh ids.</summary>
internal sealed class Scenario(Func<GrantClient> client)
{
    private readonly string _run = Guid.NewGuid().ToString("N")[..8];

    public Scenario(ClusterFixture fixture)
        : this(() => fixture.Client)
    {
    }

    public GrantClient Client => client();

    public static Scope Scope(int depth, params string[] permissions) =>
        GrantSilo.Scope.Create(permissions, DataClassification.Confidential, depth).Value;

    public async Task<string> AgentAsync(string name, Scope ceiling)
    {
        var id = $"spiffe://test.dev/{_run}/{name}";
        var result = await Client.RegisterAgentAsync(id, new AgentRegistration { Owner = "person:owner@test.dev", Ceiling = ceiling });
        Assert.True(result.IsSuccess, result.Error?.ToString());
        return id;
    }

    public async Task<TaskInfo> RootTaskAsync(string agent, Scope scope, TimeSpan? lifetime = null, TimeSpan? checkpoint = null)
    {
        var result = await Client.CreateTaskAsync(new CreateTaskRequest
        {
            Person = "person:alice@test.dev",
            Orchestrator = "orchestrator:test",
            Agent = agent,
            Scope = scope,
            Lifetime = lifetime ?? TimeSpan.FromHours(2),
            CheckpointInterval = checkpoint,
            Purpose = "test task",
        });
        Assert.True(result.IsSuccess, result.Error?.ToString());
        return result.Value;
    }

    public async Task<(string Session, IssuedCredential Credential)> CredentialAsync(string agent, string taskId, Scope? scope = null, TimeSpan? lifetime = null)
    {
        var session = await Client.OpenSessionAsync(new OpenSessionRequest { Agent = agent });
        Assert.True(session.IsSuccess, session.Error?.ToString());
        var credential = await Client.IssueCredentialAsync(session.Value.SessionId, new IssueCredentialRequest { TaskId = taskId, Scope = scope, Lifetime = lifetime });
        Assert.True(credential.IsSuccess, credential.Error?.ToString());
        return (session.Value.SessionId, credential.Value);
    }

    public Task<GrantResult<TaskInfo>> DelegateAsync(string parentTaskId, string proofToken, string agent, Scope scope, TimeSpan? lifetime = null) =>
        Client.DelegateAsync(parentTaskId, new DelegationRequest
        {
            ProofToken = proofToken,
            Agent = agent,
            Scope = scope,
            Lifetime = lifetime ?? TimeSpan.FromHours(1),
            Purpose = "delegated",
        });

    public Task<Decision> AuthorizeAsync(IssuedCredential credential, string action, string type, string path, DataClassification classification = DataClassification.Internal) =>
        Client.AuthorizeAsync(credential.Token, action, new ResourceRef { Type = type, Path = path, Classification = classification });

    /// <summary>Waits (polling, with a deadline) until every node of the tree satisfies a condition; cascades below the first level run asynchronously.</summary>
    public async Task<TaskTreeNode> TreeWhenAsync(string rootTaskId, Func<TaskInfo, bool> condition) =>
        await EventuallyAsync(async () => (await Client.GetTaskTreeAsync(rootTaskId)).Value, tree => tree.DescendantsAndSelf().All(n => condition(n.Task)));

    /// <summary>
    /// Polls until <paramref name="done"/> holds or 10 seconds pass, and returns the last value (the
    /// caller asserts on it). For effects that are asynchronous by design: one-way tracking, cascades.
    /// </summary>
    public static async Task<T> EventuallyAsync<T>(Func<Task<T>> probe, Func<T, bool> done)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (true)
        {
            var last = await probe();
            if (done(last) || DateTime.UtcNow > deadline)
            {
                return last;
            }
            await Task.Delay(20);
        }
    }
}
