using System.Diagnostics;
using System.Net;
using System.Text.Json;
using GrantSilo.EndToEnd.Tests.Support;

namespace GrantSilo.EndToEnd.Tests.Http;

/// <summary>A non-.NET agent: <c>samples/node-agent/agent.mjs</c>, using only fetch, does the agent's part over HTTP.</summary>
[Collection(HttpSiloCollection.Name)]
public sealed class HttpNodeAgentTests(HttpSilo silo)
{
    [Fact]
    public async Task NodeAgent_WithFetchOnly_OpensASessionGetsACredentialAndEndsIt()
    {
        var run = Guid.NewGuid().ToString("N")[..12];
        var agent = $"spiffe://e2e.dev/{run}/node-worker";
        var operatorToken = silo.Operator();
        var scope = new { permissions = new[] { "repo:read:acme/*" }, maxClassification = "internal", delegationDepth = 0 };
        Assert.Equal(HttpStatusCode.Created, (await silo.SendAsync(HttpMethod.Post, "/v1/agents", operatorToken, new { workloadId = agent, owner = "person:ops@test.dev", ceiling = scope })).Status);
        var task = await silo.SendAsync(HttpMethod.Post, "/v1/tasks", silo.Identity.ServiceToken($"orch-{run}", "orchestrator"), new { person = "person:erin@test.dev", agent, scope, lifetime = "00:10:00" });
        Assert.Equal(HttpStatusCode.Created, task.Status);
        var agentToken = silo.Identity.AgentToken(agent);

        var (exit, output, errors) = await NodeAsync(new Dictionary<string, string>
        {
            ["GRANTSILO_URL"] = silo.Http.BaseAddress!.ToString(),
            ["AGENT_ID"] = agent,
            ["AGENT_JWT"] = agentToken,
            ["TASK_ID"] = task["taskId"]!,
        });
        Assert.True(exit == 0, $"node exited {exit}: {errors}");
        var result = JsonDocument.Parse(output.Trim()).RootElement;
        Assert.Equal(task["taskId"], result.GetProperty("taskId").GetString());
        Assert.Equal("active", result.GetProperty("taskStatus").GetString());
        Assert.Equal("ended", result.GetProperty("sessionStatus").GetString());
        Assert.Equal("repo:read:acme/*", result.GetProperty("permissions")[0].GetString());
        // Neither the credential it was issued (a JWT: every one starts "eyJ") nor the agent's own token is printed.
        Assert.DoesNotContain("eyJ", output + errors, StringComparison.Ordinal);
        Assert.DoesNotContain(agentToken, output + errors, StringComparison.Ordinal);

        // What the script did is what GrantSilo recorded: its credential, issued in its session, ended with it.
        var credential = await silo.SendAsync(HttpMethod.Get, $"/v1/credentials/{result.GetProperty("credentialId").GetString()}", operatorToken);
        Assert.Equal(HttpStatusCode.OK, credential.Status);
        Assert.Equal(result.GetProperty("sessionId").GetString(), credential["sessionId"]);
        Assert.NotEqual("active", credential["status"]);

        // Refused, the script says what GrantSilo said and exits 1: another agent's token does not act for this one.
        var (refusedExit, _, refusal) = await NodeAsync(new Dictionary<string, string>
        {
            ["GRANTSILO_URL"] = silo.Http.BaseAddress!.ToString(),
            ["AGENT_ID"] = agent,
            ["AGENT_JWT"] = silo.Identity.AgentToken($"spiffe://e2e.dev/{run}/impostor"),
            ["TASK_ID"] = task["taskId"]!,
        });
        Assert.Equal(1, refusedExit);
        Assert.Contains("Forbidden (403", refusal, StringComparison.Ordinal);
        Assert.DoesNotContain("eyJ", refusal, StringComparison.Ordinal);
    }

    private static async Task<(int Exit, string Output, string Errors)> NodeAsync(IReadOnlyDictionary<string, string> environment)
    {
        var start = new ProcessStartInfo("node", [Repository.PathOf("samples/node-agent/agent.mjs")])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var (key, value) in environment)
        {
            start.Environment[key] = value;
        }
        Process process;
        try
        {
            process = Process.Start(start)!;
        }
        catch (System.ComponentModel.Win32Exception missing)
        {
            throw new InvalidOperationException("Node 20 or later must be on PATH to run samples/node-agent (the README's test command needs it too).", missing);
        }
        using (process)
        {
            using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            var output = process.StandardOutput.ReadToEndAsync(deadline.Token);
            var errors = process.StandardError.ReadToEndAsync(deadline.Token);
            await process.WaitForExitAsync(deadline.Token);
            return (process.ExitCode, await output, await errors);
        }
    }
}
