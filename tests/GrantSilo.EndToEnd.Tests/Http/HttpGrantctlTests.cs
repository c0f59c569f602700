using System.Diagnostics;
using System.Net;
using System.Text.Json;
using GrantSilo.EndToEnd.Tests.Support;

namespace GrantSilo.EndToEnd.Tests.Http;

/// <summary>
/// The walkthrough's operator, approver and gateway parts driven through <c>grantctl</c> against the real process:
/// login, the task tree, a decision and its step-up, approvals, policy, revocation; exit codes, errors and completion.
/// </summary>
[Collection(HttpSiloCollection.Name)]
public sealed class HttpGrantctlTests(HttpSilo silo) : IDisposable
{
    private readonly DirectoryInfo _home = Directory.CreateTempSubdirectory("grantctl-test-");

    public void Dispose() => _home.Delete(recursive: true);

    private static object Scope(int depth, params string[] permissions) => new { permissions, maxClassification = "internal", delegationDepth = depth };

    [Fact]
    public async Task Grantctl_DrivesTheWalkthrough_WithDocumentedExitCodesAndErrors()
    {
        // The world the walkthrough makes before an operator looks at it: a task delegated from a planner to a worker.
        var run = Guid.NewGuid().ToString("N")[..12];
        var (planner, worker, person) = ($"spiffe://e2e.dev/{run}/planner", $"spiffe://e2e.dev/{run}/worker", $"gina-{run}@test.dev");
        var operatorToken = silo.Operator();
        foreach (var (agent, depth) in new[] { (planner, 1), (worker, 0) })
        {
            Assert.Equal(HttpStatusCode.Created, (await silo.SendAsync(HttpMethod.Post, "/v1/agents", operatorToken, new { workloadId = agent, owner = "person:ops@test.dev", ceiling = Scope(depth, "repo:read:acme/*", "secret:read:*") })).Status);
        }
        var root = await silo.SendAsync(HttpMethod.Post, "/v1/tasks", silo.Identity.ServiceToken($"orch-{run}", "orchestrator"), new { person = $"person:{person}", agent = planner, scope = Scope(1, "repo:read:acme/*", "secret:read:*"), lifetime = "00:10:00" });
        var rootId = root["taskId"]!;
        var plannerToken = silo.Identity.AgentToken(planner);
        var plannerSession = await silo.SendAsync(HttpMethod.Post, "/v1/sessions", plannerToken, new { agent = planner });
        var proof = await silo.SendAsync(HttpMethod.Post, $"/v1/sessions/{plannerSession["sessionId"]}/credentials", plannerToken, new { taskId = rootId });
        var child = await silo.SendAsync(HttpMethod.Post, $"/v1/tasks/{rootId}/delegations", plannerToken, new { proofToken = proof["token"], agent = worker, scope = Scope(0, "repo:read:acme/*", "secret:read:*"), lifetime = "00:05:00" });
        var workerToken = silo.Identity.AgentToken(worker);
        var workerSession = await silo.SendAsync(HttpMethod.Post, "/v1/sessions", workerToken, new { agent = worker });
        var credential = await silo.SendAsync(HttpMethod.Post, $"/v1/sessions/{workerSession["sessionId"]}/credentials", workerToken, new { taskId = child["taskId"] });
        var credentialFile = Path.Combine(_home.FullName, "credential");
        await File.WriteAllTextAsync(credentialFile, credential["token"]);

        // Login saves the address and the token, readable by its owner only.
        var tokenFile = Path.Combine(_home.FullName, "operator.jwt");
        await File.WriteAllTextAsync(tokenFile, operatorToken);
        var login = await GrantctlAsync(null, "login", "--url", silo.Http.BaseAddress!.ToString(), "--token-file", tokenFile);
        Assert.True(login.Exit == 0, login.ToString());
        var config = Path.Combine(_home.FullName, "config.json");
        Assert.True(File.Exists(config));
        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(config));
        }
        Assert.DoesNotContain(operatorToken, login.Output, StringComparison.Ordinal);

        // The operator draws the tree.
        var tree = await GrantctlAsync(null, "tasks", "tree", rootId);
        Assert.True(tree.Exit == 0, tree.ToString());
        var lines = tree.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.StartsWith($"{rootId}  {planner}  [active]", lines[0], StringComparison.Ordinal);
        Assert.StartsWith($"└── {child["taskId"]}  {worker}  [active]", lines[1], StringComparison.Ordinal);
        var asJson = await GrantctlAsync(null, "tasks", "get", child["taskId"]!, "--json");
        Assert.Equal(rootId, JsonDocument.Parse(asJson.Output).RootElement.GetProperty("parentTaskId").GetString());

        // The gateway tries decisions: allowed (0); a secret needs a step-up (3), naming the approval.
        var gateway = silo.Identity.ServiceToken($"gw-{run}", "gateway");
        var allowed = await GrantctlAsync(gateway, "authorize", "--credential-file", credentialFile, "--action", "read", "--type", "repo", "--path", "acme/README.md");
        Assert.True(allowed.Exit == 0, allowed.ToString());
        Assert.Contains("allow", allowed.Output, StringComparison.Ordinal);
        var stepUp = await GrantctlAsync(gateway, "authorize", "--credential-file", credentialFile, "--action", "read", "--type", "secret", "--path", "payments/key", "--json");
        Assert.Equal(3, stepUp.Exit);
        var approvalId = JsonDocument.Parse(stepUp.Output).RootElement.GetProperty("approvalId").GetString()!;

        // The person approves it from the list; the retry is allowed. Meanwhile `approvals watch` shows it live.
        var approver = silo.Identity.PersonToken(person, "approver");
        using var watch = Start(approver, "approvals", "watch", "--json");
        try
        {
            using var seen = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            var first = await watch.StandardOutput.ReadLineAsync(seen.Token);
            while (first is not null && !first.Contains(approvalId, StringComparison.Ordinal))
            {
                first = await watch.StandardOutput.ReadLineAsync(seen.Token);
            }
            Assert.NotNull(first);
            var watched = JsonDocument.Parse(first).RootElement;
            Assert.Equal("pending", watched.GetProperty("event").GetString());
            Assert.Equal("pending", watched.GetProperty("approval").GetProperty("status").GetString());
        }
        finally
        {
            // It streams until stopped.
            watch.Kill();
        }
        var pending = await GrantctlAsync(approver, "approvals", "list");
        Assert.True(pending.Exit == 0, pending.ToString());
        Assert.Contains(approvalId, pending.Output, StringComparison.Ordinal);
        Assert.StartsWith("APPROVAL", pending.Output, StringComparison.Ordinal);
        var approved = await GrantctlAsync(approver, "approvals", "approve", approvalId, "--comment", "ok");
        Assert.True(approved.Exit == 0, approved.ToString());
        Assert.Contains("approved", approved.Output, StringComparison.Ordinal);
        Assert.Equal(0, (await GrantctlAsync(gateway, "authorize", "--credential-file", credentialFile, "--action", "read", "--type", "secret", "--path", "payments/key", "--approval", approvalId)).Exit);

        // Policy: shown, listed, and a diff of a version with itself changes nothing.
        var shown = await GrantctlAsync(null, "policy", "show");
        Assert.True(shown.Exit == 0, shown.ToString());
        Assert.Contains("secret-read-needs-approval", shown.Output, StringComparison.Ordinal);
        var diff = await GrantctlAsync(null, "policy", "diff", "0", "0");
        Assert.True(diff.Exit == 0, diff.ToString());
        Assert.All(diff.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries), line => Assert.StartsWith("  ", line, StringComparison.Ordinal));
        Assert.Equal(0, (await GrantctlAsync(null, "cascades")).Exit);

        // The operator revokes the root: the worker's credential is denied from then on.
        var revoked = await GrantctlAsync(null, "tasks", "revoke", rootId, "--reason", "walkthrough over");
        Assert.True(revoked.Exit == 0, revoked.ToString());
        Assert.Contains("revoked", revoked.Output, StringComparison.Ordinal);
        Assert.Equal(3, (await GrantctlAsync(gateway, "authorize", "--credential-file", credentialFile, "--action", "read", "--type", "repo", "--path", "acme/README.md")).Exit);

        // Errors print the problem's title and what to do, with their exit codes.
        var missing = await GrantctlAsync(null, "tasks", "get", "t-nothing-here");
        Assert.Equal(1, missing.Exit);
        Assert.Contains("Task not found (404)", missing.Errors, StringComparison.Ordinal);
        var forbidden = await GrantctlAsync(workerToken, "cascades");
        Assert.Equal(4, forbidden.Exit);
        Assert.Contains("Forbidden (403)", forbidden.Errors, StringComparison.Ordinal);
        Assert.Contains("role", forbidden.Errors, StringComparison.Ordinal);
        var refused = await GrantctlAsync("not-a-token", "cascades");
        Assert.Equal(4, refused.Exit);
        Assert.Contains("Unauthenticated (401)", refused.Errors, StringComparison.Ordinal);
        Assert.Contains("grantctl login", refused.Errors, StringComparison.Ordinal);
        Assert.Equal(2, (await GrantctlAsync(null, "tasks", "get")).Exit);
        var unreachable = await GrantctlAsync(null, "tasks", "get", rootId, "--url", $"http://127.0.0.1:{Ports.Free()}");
        Assert.Equal(5, unreachable.Exit);

        // Completion (the suggest directive dotnet-suggest uses): "tasks tr" completes to "tree".
        var completion = await GrantctlAsync(null, "[suggest:8]", "tasks tr");
        Assert.Equal("tree", completion.Output.Trim());

        // No token ever reached the output.
        foreach (var result in new[] { login, tree, allowed, stepUp, pending, approved, revoked, missing, forbidden, refused })
        {
            Assert.DoesNotContain(credential["token"]!, result.Output + result.Errors, StringComparison.Ordinal);
            Assert.DoesNotContain(operatorToken, result.Output + result.Errors, StringComparison.Ordinal);
        }
    }

    private sealed record Result(int Exit, string Output, string Errors)
    {
        public override string ToString() => $"exit {Exit}\n{Output}\n{Errors}";
    }

    // grantctl as a user runs it; a token given here stands for GRANTCTL_TOKEN (else the saved login is used).
    private async Task<Result> GrantctlAsync(string? token, params string[] arguments)
    {
        using var process = Start(token, arguments);
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var output = process.StandardOutput.ReadToEndAsync(deadline.Token);
        var errors = process.StandardError.ReadToEndAsync(deadline.Token);
        await process.WaitForExitAsync(deadline.Token);
        return new Result(process.ExitCode, await output, await errors);
    }

    private Process Start(string? token, params string[] arguments)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(ChildProcess.BuiltDll("GrantctlDll"));
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }
        start.Environment["GRANTCTL_CONFIG"] = Path.Combine(_home.FullName, "config.json");
        start.Environment.Remove("GRANTCTL_URL");
        start.Environment.Remove("GRANTCTL_CREDENTIAL");
        if (token is not null)
        {
            start.Environment["GRANTCTL_TOKEN"] = token;
        }
        else
        {
            start.Environment.Remove("GRANTCTL_TOKEN");
        }
        return Process.Start(start)!;
    }
}
