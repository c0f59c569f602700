using System.Net;

namespace GrantSilo.WebConsole.Tests;

/// <summary>A silo's HTTP API as the tests call it: JSON requests with a caller's token, and the test issuers.</summary>
public interface IApiDoor
{
    TestIdentity Identity { get; }

    /// <summary>A fresh operator's token.</summary>
    string Operator();

    /// <summary>Sends <paramref name="body"/> as JSON as <paramref name="token"/>'s caller.</summary>
    Task<Answer> SendAsync(HttpMethod method, string path, string? token, object? body = null);
}

/// <summary>Agents, tasks, credentials and step-ups set up through the HTTP API, as the parties around the console would.</summary>
public sealed class World(IApiDoor silo)
{
    private readonly string _run = Guid.NewGuid().ToString("N")[..10];

    public string Run => _run;

    public static object Scope(int depth, params string[] permissions) => new { permissions, maxClassification = "internal", delegationDepth = depth };

    /// <summary>Registers an agent (as an operator) and returns its SPIFFE ID.</summary>
    public async Task<string> AgentAsync(string name, int depth = 0)
    {
        var agent = $"spiffe://e2e.dev/{_run}/{name}";
        var registered = await silo.SendAsync(HttpMethod.Post, "/v1/agents", silo.Operator(), new { workloadId = agent, owner = "person:ops@test.dev", ceiling = Scope(depth, "secret:read:*", "repo:read:acme/*") });
        Assert.True(registered.Status == HttpStatusCode.Created, registered.ToString());
        return agent;
    }

    /// <summary>An orchestrator creates a root task for <paramref name="person"/>.</summary>
    public async Task<string> RootTaskAsync(string person, string agent, int depth, string purpose)
    {
        var task = await silo.SendAsync(HttpMethod.Post, "/v1/tasks", silo.Identity.ServiceToken($"orch-{_run}", "orchestrator"),
            new { person = $"person:{person}", agent, scope = Scope(depth, "secret:read:*", "repo:read:acme/*"), lifetime = "00:30:00", purpose });
        Assert.True(task.Status == HttpStatusCode.Created, task.ToString());
        return task["taskId"]!;
    }

    /// <summary>The agent opens a session and gets a credential for the task; returns the credential's token and id.</summary>
    public async Task<(string Token, string Id)> CredentialAsync(string agent, string taskId)
    {
        var (token, id, _) = await SessionCredentialAsync(agent, taskId);
        return (token, id);
    }

    /// <summary>As <see cref="CredentialAsync"/>, with the session's id.</summary>
    public async Task<(string Token, string Id, string SessionId)> SessionCredentialAsync(string agent, string taskId)
    {
        var agentToken = silo.Identity.AgentToken(agent);
        var session = await silo.SendAsync(HttpMethod.Post, "/v1/sessions", agentToken, new { agent });
        Assert.True(session.Status == HttpStatusCode.Created, session.ToString());
        var credential = await silo.SendAsync(HttpMethod.Post, $"/v1/sessions/{session["sessionId"]}/credentials", agentToken, new { taskId });
        Assert.True(credential.Status == HttpStatusCode.Created, credential.ToString());
        return (credential["token"]!, credential["credentialId"]!, session["sessionId"]!);
    }

    /// <summary>The parent's agent delegates a child task to <paramref name="agent"/>, proving itself with <paramref name="proof"/>.</summary>
    public async Task<string> DelegateAsync(string parentAgent, string parentTaskId, string proof, string agent, int depth)
    {
        var child = await silo.SendAsync(HttpMethod.Post, $"/v1/tasks/{parentTaskId}/delegations", silo.Identity.AgentToken(parentAgent),
            new { proofToken = proof, agent, scope = Scope(depth, "secret:read:*"), lifetime = "00:20:00", purpose = "delegated part" });
        Assert.True(child.Status == HttpStatusCode.Created, child.ToString());
        return child["taskId"]!;
    }

    /// <summary>A gateway asks to read a secret with the credential; returns the decision's kind and approval id.</summary>
    public async Task<(string? Kind, string? ApprovalId)> ReadSecretAsync(string credentialToken, string path, string? approvalId = null)
    {
        var answer = await ReadSecretAnswerAsync(credentialToken, path, approvalId);
        return (answer["kind"], answer["approvalId"]);
    }

    /// <summary>A gateway asks to read a secret with the credential; returns the whole decision.</summary>
    public async Task<Answer> ReadSecretAnswerAsync(string credentialToken, string path, string? approvalId = null)
    {
        var answer = await silo.SendAsync(HttpMethod.Post, "/v1/authorize", silo.Identity.ServiceToken($"gateway-{_run}", "gateway"),
            new { token = credentialToken, action = "read", resource = new { type = "secret", path }, approvalId });
        Assert.True(answer.Status == HttpStatusCode.OK, answer.ToString());
        return answer;
    }
}
