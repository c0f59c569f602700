using System.Diagnostics;
using System.Net;
using System.Text.Json;
using GrantSilo.EndToEnd.Tests.Support;

namespace GrantSilo.EndToEnd.Tests.Http;

/// <summary>
/// The whole walkthrough driven only through <c>grantctl</c> against the real process: the operator registers the
/// agents, the orchestrator creates a task, the planner delegates, the worker gets a credential, the gateway decides,
/// the approver approves a step-up, the operator revokes; exit codes, errors and completion; no token ever printed.
/// </summary>
[Collection(HttpSiloCollection.Name)]
public sealed class HttpGrantctlTests(HttpSilo silo) : IDisposable
{
    private readonly Grantctl _grantctl = new();

    public void Dispose() => _grantctl.Dispose();

    private Task<GrantctlResult> GrantctlAsync(string? token, params string[] arguments) => _grantctl.RunAsync(token, arguments);

    private static string Field(GrantctlResult result, string name) => JsonDocument.Parse(result.Output).RootElement.GetProperty(name).GetString()!;

    [Fact]
    public async Task Grantctl_DrivesTheWalkthrough_WithDocumentedExitCodesAndErrors()
    {
        var run = Guid.NewGuid().ToString("N")[..12];
        var (planner, worker, person) = ($"spiffe://e2e.dev/{run}/planner", $"spiffe://e2e.dev/{run}/worker", $"gina-{run}@test.dev");
        var operatorToken = silo.Operator();
        var orchestratorToken = silo.Identity.ServiceToken($"orch-{run}", "orchestrator");
        var plannerToken = silo.Identity.AgentToken(planner);
        var workerToken = silo.Identity.AgentToken(worker);
        var home = _grantctl.Home;

        // The operator logs in first: login saves the address and the token, readable by its owner only; the
        // others below call with their own tokens (GRANTCTL_TOKEN) at the saved address.
        var tokenFile = Path.Combine(home, "operator.jwt");
        await File.WriteAllTextAsync(tokenFile, operatorToken);
        var login = await GrantctlAsync(null, "login", "--url", silo.Http.BaseAddress!.ToString(), "--token-file", tokenFile);
        Assert.True(login.Exit == 0, login.ToString());
        var config = _grantctl.ConfigFile;
        Assert.True(File.Exists(config));
        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(config));
        }
        Assert.DoesNotContain(operatorToken, login.Output, StringComparison.Ordinal);

        // The operator registers both agents with their ceilings.
        foreach (var (agent, depth) in new[] { (planner, "1"), (worker, "0") })
        {
            var registered = await GrantctlAsync(operatorToken, "agents", "register", agent, "--owner", "person:ops@test.dev",
                "--permission", "repo:read:acme/*", "--permission", "secret:read:*", "--depth", depth, "--json");
            Assert.True(registered.Exit == 0, registered.ToString());
            Assert.Equal(agent, Field(registered, "workloadId"));
        }
        // Registering again is refused, with the problem's title.
        var again = await GrantctlAsync(operatorToken, "agents", "register", worker, "--owner", "person:ops@test.dev", "--permission", "repo:read:acme/*");
        Assert.Equal(1, again.Exit);
        Assert.Contains("(409)", again.Errors, StringComparison.Ordinal);

        // The orchestrator creates the root task for the person, assigned to the planner.
        var created = await GrantctlAsync(orchestratorToken, "tasks", "create", "--person", $"person:{person}", "--agent", planner,
            "--permission", "repo:read:acme/*", "--permission", "secret:read:*", "--depth", "1", "--lifetime", "00:10:00", "--purpose", "summarise the payments repo", "--json");
        Assert.True(created.Exit == 0, created.ToString());
        var rootId = Field(created, "taskId");
        var badLifetime = await GrantctlAsync(orchestratorToken, "tasks", "create", "--person", $"person:{person}", "--agent", planner, "--permission", "repo:read:acme/*", "--lifetime", "soon");
        Assert.Equal(2, badLifetime.Exit);
        Assert.Contains("--lifetime 'soon' is not a duration", badLifetime.Errors, StringComparison.Ordinal);

        // The planner opens a session, gets a credential (into a file, never printed), and delegates with it as proof.
        var plannerSession = await GrantctlAsync(plannerToken, "sessions", "open", "--agent", planner, "--json");
        Assert.True(plannerSession.Exit == 0, plannerSession.ToString());
        var proofFile = Path.Combine(home, "planner.credential");
        var proof = await GrantctlAsync(plannerToken, "credentials", "issue", "--session", Field(plannerSession, "sessionId"), "--task", rootId, "--out", proofFile);
        Assert.True(proof.Exit == 0, proof.ToString());
        Assert.Contains($"written to {proofFile}", proof.Output, StringComparison.Ordinal);
        var proofToken = (await File.ReadAllTextAsync(proofFile)).Trim();
        Assert.True(CredentialToken.TryParse(proofToken, out _, out _), "grantctl wrote a credential JWT");
        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(proofFile));
        }
        var wider = await GrantctlAsync(plannerToken, "tasks", "delegate", rootId, "--proof-file", proofFile, "--agent", worker, "--permission", "repo:write:acme/*", "--lifetime", "00:05:00");
        Assert.Equal(1, wider.Exit);
        Assert.Contains("Scope exceeds parent (422)", wider.Errors, StringComparison.Ordinal);
        var delegated = await GrantctlAsync(plannerToken, "tasks", "delegate", rootId, "--proof-file", proofFile, "--agent", worker,
            "--permission", "repo:read:acme/*", "--permission", "secret:read:*", "--lifetime", "00:05:00", "--json");
        Assert.True(delegated.Exit == 0, delegated.ToString());
        var childId = Field(delegated, "taskId");

        // The worker gets its own credential for the child task.
        var workerSession = await GrantctlAsync(workerToken, "sessions", "open", "--agent", worker, "--json");
        Assert.True(workerSession.Exit == 0, workerSession.ToString());
        var credentialFile = Path.Combine(home, "worker.credential");
        var issued = await GrantctlAsync(workerToken, "credentials", "issue", "--session", Field(workerSession, "sessionId"), "--task", childId, "--out", credentialFile, "--json");
        Assert.True(issued.Exit == 0, issued.ToString());
        var credentialId = Field(issued, "credentialId");
        Assert.False(JsonDocument.Parse(issued.Output).RootElement.TryGetProperty("token", out _));
        var credential = new Dictionary<string, string> { ["token"] = (await File.ReadAllTextAsync(credentialFile)).Trim() };
        var listed = await GrantctlAsync(operatorToken, "tasks", "credentials", childId);
        Assert.True(listed.Exit == 0, listed.ToString());
        Assert.Contains(credentialId, listed.Output, StringComparison.Ordinal);

        // The operator draws the tree.
        var tree = await GrantctlAsync(null, "tasks", "tree", rootId);
        Assert.True(tree.Exit == 0, tree.ToString());
        var lines = tree.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.StartsWith($"{rootId}  {planner}  [active]", lines[0], StringComparison.Ordinal);
        Assert.StartsWith($"└── {childId}  {worker}  [active]", lines[1], StringComparison.Ordinal);
        var asJson = await GrantctlAsync(null, "tasks", "get", childId, "--json");
        Assert.Equal(rootId, JsonDocument.Parse(asJson.Output).RootElement.GetProperty("parentTaskId").GetString());

        // The gateway tries decisions: allowed (0); a secret needs a step-up (3), naming the approval.
        var gateway = silo.Identity.ServiceToken($"gw-{run}", "gateway");
        var allowed = await GrantctlAsync(gateway, "authorize", "--credential-file", credentialFile, "--action", "read", "--type", "repo", "--path", "acme/README.md");
        Assert.True(allowed.Exit == 0, allowed.ToString());
        Assert.Contains("allow", allowed.Output, StringComparison.Ordinal);
        var stepUp = await GrantctlAsync(gateway, "authorize", "--credential-file", credentialFile, "--action", "read", "--type", "secret", "--path", "payments/key", "--json");
        Assert.Equal(3, stepUp.Exit);
        var approvalId = JsonDocument.Parse(stepUp.Output).RootElement.GetProperty("approvalId").GetString()!;
        var active = await GrantctlAsync(gateway, "credentials", "introspect", "--credential-file", credentialFile);
        Assert.True(active.Exit == 0, active.ToString());
        Assert.Contains(credentialId, active.Output, StringComparison.Ordinal);

        // The person approves it from the list; the retry is allowed. Meanwhile `approvals watch` shows it live.
        var approver = silo.Identity.PersonToken(person, "approver");
        using var watch = _grantctl.Start(approver, "approvals", "watch", "--json");
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

        // A policy author publishes the active text again as the next version: the diff between the two is empty.
        var author = silo.Identity.PersonToken($"pat-{run}@test.dev", "policy-author");
        var current = await GrantctlAsync(author, "policy", "show", "--json");
        Assert.True(current.Exit == 0, current.ToString());
        var currentVersion = JsonDocument.Parse(current.Output).RootElement.GetProperty("info").GetProperty("version").GetInt64();
        var policyFile = Path.Combine(home, "policy.cedar");
        await File.WriteAllTextAsync(policyFile, Field(current, "text"));
        var republished = await GrantctlAsync(author, "policy", "publish", policyFile, "--json");
        Assert.True(republished.Exit == 0, republished.ToString());
        var newVersion = JsonDocument.Parse(republished.Output).RootElement.GetProperty("version").GetInt64();
        Assert.True(newVersion > currentVersion, republished.Output);
        var unchanged = await GrantctlAsync(author, "policy", "diff", currentVersion.ToString(System.Globalization.CultureInfo.InvariantCulture), newVersion.ToString(System.Globalization.CultureInfo.InvariantCulture));
        Assert.True(unchanged.Exit == 0, unchanged.ToString());
        Assert.All(unchanged.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries), line => Assert.StartsWith("  ", line, StringComparison.Ordinal));
        var broken = Path.Combine(home, "broken.cedar");
        await File.WriteAllTextAsync(broken, "permit(principal, action, resource) when { principal.nope(");
        var refusedPolicy = await GrantctlAsync(author, "policy", "publish", broken);
        Assert.Equal(1, refusedPolicy.Exit);
        Assert.Contains("Policy invalid (400)", refusedPolicy.Errors, StringComparison.Ordinal);

        // The operator revokes the root: the worker's credential is denied from then on.
        var revoked = await GrantctlAsync(null, "tasks", "revoke", rootId, "--reason", "walkthrough over");
        Assert.True(revoked.Exit == 0, revoked.ToString());
        Assert.Contains("revoked", revoked.Output, StringComparison.Ordinal);
        Assert.Equal(3, (await GrantctlAsync(gateway, "authorize", "--credential-file", credentialFile, "--action", "read", "--type", "repo", "--path", "acme/README.md")).Exit);
        var inactive = await GrantctlAsync(gateway, "credentials", "introspect", "--credential-file", credentialFile, "--json");
        Assert.Equal(3, inactive.Exit);
        Assert.False(JsonDocument.Parse(inactive.Output).RootElement.GetProperty("active").GetBoolean());
        var shownCredential = await GrantctlAsync(null, "credentials", "get", credentialId);
        Assert.True(shownCredential.Exit == 0, shownCredential.ToString());
        Assert.Contains("revoked", shownCredential.Output, StringComparison.Ordinal);
        var ended = await GrantctlAsync(plannerToken, "sessions", "end", Field(plannerSession, "sessionId"), "--reason", "done");
        Assert.True(ended.Exit == 0, ended.ToString());
        Assert.Contains("ended", ended.Output, StringComparison.Ordinal);

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
        foreach (var result in new[] { created, plannerSession, proof, wider, delegated, workerSession, issued, listed, login, tree, allowed, stepUp, active, pending, approved, revoked, inactive, shownCredential, ended, missing, forbidden, refused })
        {
            Assert.DoesNotContain(credential["token"]!, result.Output + result.Errors, StringComparison.Ordinal);
            Assert.DoesNotContain(proofToken, result.Output + result.Errors, StringComparison.Ordinal);
            Assert.DoesNotContain(operatorToken, result.Output + result.Errors, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Grantctl_ManagesAgentsTasksApprovalsAndPolicy_AndSaysWhatToDoOnRefusal()
    {
        var run = Guid.NewGuid().ToString("N")[..12];
        var (planner, spare, person) = ($"spiffe://e2e.dev/{run}/planner", $"spiffe://e2e.dev/{run}/spare", $"hana-{run}@test.dev");
        var operatorToken = silo.Operator();
        var orchestratorToken = silo.Identity.ServiceToken($"orch-{run}", "orchestrator");
        var tokenFile = Path.Combine(_grantctl.Home, "operator.jwt");
        await File.WriteAllTextAsync(tokenFile, operatorToken);
        Assert.Equal(0, (await GrantctlAsync(null, "login", "--url", silo.Http.BaseAddress!.ToString(), "--token-file", tokenFile)).Exit);
        foreach (var agent in new[] { planner, spare })
        {
            var registered = await GrantctlAsync(null, "agents", "register", agent, "--owner", "person:ops@test.dev", "--permission", "repo:read:acme/*", "--permission", "secret:read:*", "--depth", "1");
            Assert.True(registered.Exit == 0, registered.ToString());
        }
        async Task<string> TaskAsync(params string[] more)
        {
            var created = await GrantctlAsync(orchestratorToken, ["tasks", "create", "--person", $"person:{person}", "--agent", planner, "--permission", "repo:read:acme/*", "--permission", "secret:read:*", "--lifetime", "00:10:00", "--json", .. more]);
            Assert.True(created.Exit == 0, created.ToString());
            return Field(created, "taskId");
        }
        var (plain, paced, stepped) = (await TaskAsync(), await TaskAsync("--checkpoint", "00:00:01"), await TaskAsync());

        // An agent's tasks, as a table: `agents tasks` and `tasks list --agent` are the same list, every page of it (one or
        // two tasks a request here: before, grantctl printed the first page alone).
        foreach (var listing in new[] { new[] { "agents", "tasks", planner }, ["tasks", "list", "--agent", planner], ["agents", "tasks", planner, "--page-size", "1"], ["tasks", "list", "--agent", planner, "--page-size", "2"] })
        {
            var listed = await GrantctlAsync(null, listing);
            Assert.True(listed.Exit == 0, listed.ToString());
            var rows = listed.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
            Assert.Matches("^TASK +STATUS +PERSON +DEPTH +EXPIRES$", rows[0]);
            Assert.Equal(3, rows.Length - 1);
            Assert.All(new[] { plain, paced, stepped }, id => Assert.Single(rows, r => r.StartsWith(id + " ", StringComparison.Ordinal) && r.Contains($"person:{person}", StringComparison.Ordinal)));
        }

        var json = await GrantctlAsync(null, "tasks", "list", "--agent", planner, "--page-size", "1", "--json");
        Assert.True(json.Exit == 0, json.ToString());
        Assert.Equal(new[] { plain, paced, stepped }.Order(StringComparer.Ordinal), System.Text.Json.Nodes.JsonNode.Parse(json.Output)!["items"]!.AsArray().Select(t => t!["taskId"]!.GetValue<string>()).Order(StringComparer.Ordinal));

        // Completed by its orchestrator (again is the same end: done); revoking it then is a conflict that says where to
        // look and what its state still allows.
        var completed = await GrantctlAsync(orchestratorToken, "tasks", "complete", plain, "--summary", "done");
        Assert.True(completed.Exit == 0, completed.ToString());
        Assert.Contains($"task:    {plain}", completed.Output, StringComparison.Ordinal);
        Assert.Matches("(?m)^status: +completed", completed.Output);
        Assert.Equal(0, (await GrantctlAsync(orchestratorToken, "tasks", "complete", plain)).Exit);
        var again = await GrantctlAsync(orchestratorToken, "tasks", "revoke", plain, "--reason", "too late");
        Assert.Equal(1, again.Exit);
        Assert.Contains("had already ended as Completed", again.Errors, StringComparison.Ordinal);
        Assert.Contains("(409)", again.Errors, StringComparison.Ordinal);
        Assert.Contains($"Show its state with grantctl tasks get {plain}", again.Errors, StringComparison.Ordinal);

        // The paced task stops at its first checkpoint (a second); its orchestrator re-authorizes it and it runs again.
        var ended = await GrantctlAsync(orchestratorToken, "tasks", "reauthorize", plain);
        Assert.Equal(1, ended.Exit);
        Assert.Contains("only a task waiting at its checkpoint can be re-authorized", ended.Errors, StringComparison.Ordinal);
        await Eventually.HoldsAsync(async () => (await silo.SendAsync(HttpMethod.Get, $"/v1/tasks/{paced}", operatorToken))["status"]!.StartsWith("awaiting", StringComparison.OrdinalIgnoreCase),
            TimeSpan.FromSeconds(30), "the paced task at its checkpoint");
        var reauthorized = await GrantctlAsync(orchestratorToken, "tasks", "reauthorize", paced);
        Assert.True(reauthorized.Exit == 0, reauthorized.ToString());
        Assert.Matches("(?m)^status: +active", reauthorized.Output);

        // A step-up, denied by the person from the command line; a second decision is refused as already decided.
        var plannerToken = silo.Identity.AgentToken(planner);
        var session = await silo.SendAsync(HttpMethod.Post, "/v1/sessions", plannerToken, new { agent = planner });
        var issued = await silo.SendAsync(HttpMethod.Post, $"/v1/sessions/{session["sessionId"]}/credentials", plannerToken, new { taskId = stepped });
        Assert.Equal(HttpStatusCode.Created, issued.Status);
        var gateway = silo.Identity.ServiceToken($"gw-{run}", "gateway");
        var stepUp = await silo.SendAsync(HttpMethod.Post, "/v1/authorize", gateway, new { token = issued["token"], action = "read", resource = new { type = "secret", path = "payments/key" } });
        var approvalId = stepUp["approvalId"]!;
        var approver = silo.Identity.PersonToken(person, "approver");
        var denied = await GrantctlAsync(approver, "approvals", "deny", approvalId, "--reason", "not this week");
        Assert.True(denied.Exit == 0, denied.ToString());
        Assert.Matches("(?m)^status: +denied", denied.Output);
        Assert.Matches($"(?m)^decided by: +\\S*{System.Text.RegularExpressions.Regex.Escape(person)}", denied.Output);
        var redecided = await GrantctlAsync(approver, "approvals", "approve", approvalId);
        Assert.Equal(1, redecided.Exit);
        Assert.Contains("(409)", redecided.Errors, StringComparison.Ordinal);
        Assert.Contains("decided once", redecided.Errors, StringComparison.Ordinal);
        Assert.Equal(3, (await GrantctlAsync(gateway, "authorize", "--credential-file", await SecretFileAsync(issued["token"]!), "--action", "read", "--type", "secret", "--path", "payments/key", "--approval", approvalId)).Exit);

        // Every policy version, as a table, the active one among them.
        var active = (await silo.SendAsync(HttpMethod.Get, "/v1/policies/active", operatorToken)).Json.GetProperty("info").GetProperty("version").GetInt64();
        var versions = await GrantctlAsync(null, "policy", "versions");
        Assert.True(versions.Exit == 0, versions.ToString());
        var versionRows = versions.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Matches("^VERSION +AUTHOR +PUBLISHED$", versionRows[0]);
        Assert.Single(versionRows, r => r.StartsWith($"{active} ", StringComparison.Ordinal));

        // Pending cascades: the table is what the API lists (none here: every cascade of this process completed).
        var cascades = await GrantctlAsync(null, "cascades");
        Assert.True(cascades.Exit == 0, cascades.ToString());
        Assert.Equal(0, (await silo.SendAsync(HttpMethod.Get, "/v1/cascades/pending", operatorToken)).Json.GetArrayLength());
        Assert.Equal("(none)", cascades.Output.Trim());
        Assert.Equal("[]", (await GrantctlAsync(null, "cascades", "--json")).Output.Trim());

        // The spare agent through its life: suspended, resumed, retired; its sessions listed.
        var spareSession = await silo.SendAsync(HttpMethod.Post, "/v1/sessions", silo.Identity.AgentToken(spare), new { agent = spare });
        var sessions = await GrantctlAsync(null, "agents", "sessions", spare);
        Assert.True(sessions.Exit == 0, sessions.ToString());
        Assert.Matches("^SESSION +STATUS +OPENED +EXPIRES", sessions.Output);
        Assert.Contains($"{spareSession["sessionId"]}  active", sessions.Output, StringComparison.Ordinal);
        foreach (var (verb, status) in new[] { ("suspend", "suspended"), ("resume", "active"), ("retire", "retired") })
        {
            var changed = await GrantctlAsync(null, "agents", verb, spare, "--reason", $"{verb} for the test");
            Assert.True(changed.Exit == 0, changed.ToString());
            Assert.Contains($"agent:         {spare}", changed.Output, StringComparison.Ordinal);
            Assert.Matches($"(?m)^status: +{status}$", changed.Output);
        }

        // Refusals say what to do: a missing id (404) how to find the right one; a scope beyond the ceiling (422) the
        // permission at fault and to ask for less.
        var noAgent = await GrantctlAsync(null, "agents", "get", $"spiffe://e2e.dev/{run}/nobody");
        Assert.Equal(1, noAgent.Exit);
        Assert.Contains("(404)", noAgent.Errors, StringComparison.Ordinal);
        Assert.Contains("Check the id (an agent's workload id is its SPIFFE ID, as registered): show one with grantctl agents get ID.", noAgent.Errors, StringComparison.Ordinal);
        var noTask = await GrantctlAsync(null, "tasks", "get", "t-nothing-here");
        Assert.Contains("Check the id: list an agent's tasks with grantctl tasks list --agent ID", noTask.Errors, StringComparison.Ordinal);
        var tooWide = await GrantctlAsync(orchestratorToken, "tasks", "create", "--person", $"person:{person}", "--agent", planner, "--permission", "repo:write:acme/*", "--lifetime", "00:05:00");
        Assert.Equal(1, tooWide.Exit);
        Assert.Contains("(422)", tooWide.Errors, StringComparison.Ordinal);
        Assert.Contains("[permission repo:write:acme/*]", tooWide.Errors, StringComparison.Ordinal);
        Assert.Contains("Ask for less: the permission repo:write:acme/* is more than is allowed here", tooWide.Errors, StringComparison.Ordinal);
        // A malformed permission is the body's fault (400): the field to fix is named, and the line says to fix it.
        var malformed = await GrantctlAsync(null, "agents", "register", $"spiffe://e2e.dev/{run}/odd", "--owner", "person:ops@test.dev", "--permission", "repo-read");
        Assert.Equal(1, malformed.Exit);
        Assert.Contains("(400)", malformed.Errors, StringComparison.Ordinal);
        Assert.Contains("[field $.ceiling", malformed.Errors, StringComparison.Ordinal);
        Assert.Contains("Fix $.ceiling and run the command again", malformed.Errors, StringComparison.Ordinal);
        foreach (var result in new[] { completed, again, reauthorized, denied, redecided, noAgent, noTask, tooWide, malformed })
        {
            Assert.DoesNotContain(issued["token"]!, result.Output + result.Errors, StringComparison.Ordinal);
            Assert.DoesNotContain(operatorToken, result.Output + result.Errors, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Grantctl_OnTooManyRequests_SaysWhenToRetry_AndNamesBothFieldAndPermission()
    {
        // Answers the silo gives rarely or never on cue, from a stand-in on loopback: a 429 with its Retry-After, and a
        // problem naming both a field and a permission.
        using var stand = new System.Net.HttpListener();
        var port = Ports.Free();
        stand.Prefixes.Add($"http://127.0.0.1:{port}/");
        stand.Start();
        var answers = Task.Run(async () =>
        {
            for (var i = 0; i < 2; i++)
            {
                var context = await stand.GetContextAsync();
                var limited = context.Request.Url!.AbsolutePath == "/v1/cascades/pending";
                context.Response.StatusCode = limited ? 429 : 422;
                context.Response.ContentType = "application/problem+json";
                if (limited)
                {
                    context.Response.Headers["Retry-After"] = "7";
                }
                var body = limited
                    ? """{"type":"urn:grantsilo:problem:quota-exceeded","title":"Too many requests","status":429,"detail":"Slow down.","code":"QuotaExceeded"}"""
                    : """{"type":"urn:grantsilo:problem:scope-exceeds-ceiling","title":"Scope exceeds ceiling","status":422,"detail":"Too wide.","code":"ScopeExceedsCeiling","field":"$.scope","permission":"repo:write:acme/*"}""";
                await context.Response.OutputStream.WriteAsync(System.Text.Encoding.UTF8.GetBytes(body));
                context.Response.Close();
            }
        });
        var url = $"http://127.0.0.1:{port}";
        var limited = await GrantctlAsync("a-token", "cascades", "--url", url);
        Assert.Equal(1, limited.Exit);
        Assert.Contains("Too many requests (429): Slow down.", limited.Errors, StringComparison.Ordinal);
        Assert.Contains("retry after 7 seconds (Retry-After)", limited.Errors, StringComparison.Ordinal);
        var both = await GrantctlAsync("a-token", "tasks", "create", "--person", "person:p@test.dev", "--agent", "spiffe://e2e.dev/a", "--permission", "repo:write:acme/*", "--lifetime", "00:05:00", "--url", url);
        Assert.Equal(1, both.Exit);
        Assert.Contains("[field $.scope, permission repo:write:acme/*]", both.Errors, StringComparison.Ordinal);
        Assert.Contains("Fix $.scope and run the command again; the permission repo:write:acme/* is the one at fault.", both.Errors, StringComparison.Ordinal);
        await answers.WaitAsync(TimeSpan.FromSeconds(30));
    }

    private async Task<string> SecretFileAsync(string token)
    {
        var file = Path.Combine(_grantctl.Home, $"{Guid.NewGuid():N}.credential");
        await File.WriteAllTextAsync(file, token);
        return file;
    }
}
