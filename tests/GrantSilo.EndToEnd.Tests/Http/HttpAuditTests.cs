using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Net.ServerSentEvents;
using System.Text;
using System.Text.Json;
using GrantSilo.EndToEnd.Tests.Support;

namespace GrantSilo.EndToEnd.Tests.Http;

/// <summary>
/// The audit log through the real process: a decision id from /v1/authorize and AuthZEN, queries and lineage under the
/// role rules, a live stream, an export verified offline by <c>grantctl</c> with the published keys (and an edit to it,
/// or its stream copied under another name, caught), and no raw token anywhere: not in the process's log, its audit
/// segments or the export.
/// </summary>
[Collection(HttpSiloCollection.Name)]
public sealed class HttpAuditTests(HttpSilo silo) : IDisposable
{
    private readonly DirectoryInfo _home = Directory.CreateTempSubdirectory("grantctl-audit-test-");

    public void Dispose() => _home.Delete(recursive: true);

    private static object Scope(int depth, params string[] permissions) => new { permissions, maxClassification = "internal", delegationDepth = depth };

    private async Task<(string Token, string TaskId, string Agent, string Gateway)> WorldAsync(string run)
    {
        var agent = $"spiffe://e2e.dev/{run}/auditee";
        Assert.Equal(HttpStatusCode.Created, (await silo.SendAsync(HttpMethod.Post, "/v1/agents", silo.Operator(), new { workloadId = agent, owner = "person:ops@test.dev", ceiling = Scope(0, "repo:read:acme/*") })).Status);
        var task = await silo.SendAsync(HttpMethod.Post, "/v1/tasks", silo.Identity.ServiceToken($"orch-{run}", "orchestrator"), new { person = $"person:ivy-{run}@test.dev", agent, scope = Scope(0, "repo:read:acme/*"), lifetime = "00:10:00", purpose = $"purpose-{run}" });
        var agentToken = silo.Identity.AgentToken(agent);
        var session = await silo.SendAsync(HttpMethod.Post, "/v1/sessions", agentToken, new { agent });
        var credential = await silo.SendAsync(HttpMethod.Post, $"/v1/sessions/{session["sessionId"]}/credentials", agentToken, new { taskId = task["taskId"] });
        Assert.True(credential.Status == HttpStatusCode.Created, credential.ToString());
        return (credential["token"]!, task["taskId"]!, agent, silo.Identity.ServiceToken($"gw-{run}", "gateway"));
    }

    [Fact]
    public async Task Decisions_CarryTheirIds_AndTheAuditLogIsQueryableByAuditorsOnly_AndFollowsLive()
    {
        var run = Guid.NewGuid().ToString("N")[..12];
        var (token, taskId, agent, gateway) = await WorldAsync(run);
        var auditor = silo.Identity.PersonToken($"aud-{run}@test.dev", "auditor");

        // Following from now on: the next decision arrives as an event.
        using var follow = new HttpRequestMessage(HttpMethod.Get, new Uri($"/v1/audit/stream?agent={Uri.EscapeDataString(agent)}&kind=decision", UriKind.Relative));
        follow.Headers.Authorization = new AuthenticationHeaderValue("Bearer", auditor);
        using var stream = await silo.Http.SendAsync(follow, HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, stream.StatusCode);
        Assert.Equal("text/event-stream", stream.Content.Headers.ContentType?.MediaType);

        var allowed = await silo.SendAsync(HttpMethod.Post, "/v1/authorize", gateway, new { token, action = "read", resource = new { type = "repo", path = "acme/audited.md" } });
        Assert.Equal("allow", allowed["kind"]);
        var decisionId = allowed["decisionId"]!;
        var evaluation = await silo.SendAsync(HttpMethod.Post, "/access/v1/evaluation", gateway, new { subject = new { type = "credential", id = token }, action = new { name = "write" }, resource = new { type = "repo", id = "acme/audited.md" } });
        var authZenId = evaluation.Json.GetProperty("context").GetProperty("decision_id").GetString()!;
        Assert.NotEqual(decisionId, authZenId);

        using (var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(60)))
        {
            await using var body = await stream.Content.ReadAsStreamAsync(deadline.Token);
            var seen = new List<string>();
            await foreach (var item in SseParser.Create(body).EnumerateAsync(deadline.Token))
            {
                Assert.Equal("record", item.EventType);
                seen.Add(JsonDocument.Parse(item.Data).RootElement.GetProperty("record").GetProperty("id").GetString()!);
                if (seen.Contains(authZenId))
                {
                    break;
                }
            }
            Assert.Equal([decisionId, authZenId], seen);
        }

        // Found by id, by task tree and by the token (in a body), by auditors and operators; never by a gateway or the agent.
        var byId = await silo.SendAsync(HttpMethod.Get, $"/v1/audit/records?decisionId={decisionId}", auditor);
        Assert.True(byId.Status == HttpStatusCode.OK, byId.ToString());
        var record = byId.Json.GetProperty("items")[0].GetProperty("record");
        Assert.Equal(taskId, record.GetProperty("taskId").GetString());
        Assert.Equal($"service:gw-{run}", record.GetProperty("callerName").GetString());
        Assert.Equal("allow", record.GetProperty("decision").GetString());
        var byTree = await silo.SendAsync(HttpMethod.Get, $"/v1/audit/records?taskId={taskId}", silo.Operator());
        Assert.Contains(byTree.Json.GetProperty("items").EnumerateArray(), e => e.GetProperty("record").GetProperty("kind").GetString() == "taskCreated");
        var byToken = await silo.SendAsync(HttpMethod.Post, "/v1/audit/records/search", auditor, new { token });
        Assert.Equal([decisionId, authZenId], byToken.Json.GetProperty("items").EnumerateArray().Select(e => e.GetProperty("record").GetProperty("id").GetString()));
        Assert.DoesNotContain(token, byToken.Text, StringComparison.Ordinal);
        var lineage = await silo.SendAsync(HttpMethod.Get, $"/v1/audit/decisions/{decisionId}/lineage", auditor);
        Assert.True(lineage.Status == HttpStatusCode.OK, lineage.ToString());
        Assert.Contains(lineage.Json.GetProperty("related").EnumerateArray(), e => e.GetProperty("record").GetProperty("kind").GetString() == "credentialIssued");

        Assert.Equal(HttpStatusCode.Forbidden, (await silo.SendAsync(HttpMethod.Get, "/v1/audit/verify", gateway)).Status);
        Assert.Equal(HttpStatusCode.Forbidden, (await silo.SendAsync(HttpMethod.Get, $"/v1/audit/records?agent={Uri.EscapeDataString(agent)}", silo.Identity.AgentToken(agent))).Status);
        Assert.Equal(HttpStatusCode.Unauthorized, (await silo.SendAsync(HttpMethod.Get, "/v1/audit/verify", null)).Status);
        Assert.Equal(HttpStatusCode.NotFound, (await silo.SendAsync(HttpMethod.Get, "/v1/audit/decisions/0123/lineage", auditor)).Status);
        var badKind = await silo.SendAsync(HttpMethod.Get, "/v1/audit/records?kind=nonsense", auditor);
        Assert.Equal(HttpStatusCode.BadRequest, badKind.Status);
        Assert.Equal("kind", badKind["field"]);
        var verify = await silo.SendAsync(HttpMethod.Get, "/v1/audit/verify", auditor);
        Assert.Equal("true", verify["intact"]);
    }

    [Fact]
    public async Task Records_OrderNewest_PagesFromTheLatestBackwards_AndABadOrderIsAProblemNamingIt()
    {
        var run = Guid.NewGuid().ToString("N")[..12];
        var (token, _, agent, gateway) = await WorldAsync(run);
        var auditor = silo.Identity.PersonToken($"aud-{run}@test.dev", "auditor");
        var decisions = new List<string>();
        for (var i = 0; i < 5; i++)
        {
            decisions.Add((await silo.SendAsync(HttpMethod.Post, "/v1/authorize", gateway, new { token, action = "read", resource = new { type = "repo", path = $"acme/newest-{i}.md" } }))["decisionId"]!);
        }
        static string? Next(JsonElement page) => page.TryGetProperty("continuationToken", out var t) && t.ValueKind == JsonValueKind.String ? t.GetString() : null;
        static IEnumerable<string> Ids(JsonElement page) => page.GetProperty("items").EnumerateArray().Select(e => e.GetProperty("record").GetProperty("id").GetString()!);

        var query = $"/v1/audit/records?agent={Uri.EscapeDataString(agent)}&kind=decision&order=newest&pageSize=2";
        var seen = new List<string>();
        string? next = null;
        for (var page = 0; page < 3; page++)
        {
            var answer = await silo.SendAsync(HttpMethod.Get, query + (next is null ? "" : $"&continuationToken={Uri.EscapeDataString(next)}"), auditor);
            Assert.True(answer.Status == HttpStatusCode.OK, answer.ToString());
            seen.AddRange(Ids(answer.Json));
            next = Next(answer.Json);
            Assert.Equal(page < 2, next is not null);
        }
        Assert.Equal(Enumerable.Reverse(decisions), seen);

        // In a body the order is the enum's name.
        var searched = await silo.SendAsync(HttpMethod.Post, "/v1/audit/records/search", auditor, new { token, order = "newestFirst", pageSize = 1 });
        Assert.Equal([decisions[^1]], Ids(searched.Json));

        // A token of one order is refused by the other; a bad order, or newest for an export or a stream, is a 400 naming it.
        var first = await silo.SendAsync(HttpMethod.Get, query, auditor);
        var crossed = await silo.SendAsync(HttpMethod.Get, $"/v1/audit/records?agent={Uri.EscapeDataString(agent)}&continuationToken={Uri.EscapeDataString(Next(first.Json)!)}", auditor);
        Assert.Equal(HttpStatusCode.BadRequest, crossed.Status);
        foreach (var path in new[] { "/v1/audit/records?order=sideways", "/v1/audit/records?order=1", "/v1/audit/export?order=newest", "/v1/audit/stream?order=newest" })
        {
            var bad = await silo.SendAsync(HttpMethod.Get, path, auditor);
            Assert.True(bad.Status == HttpStatusCode.BadRequest, $"{path}: {bad}");
            Assert.Equal("order", bad["field"]);
        }

        // grantctl audit query --newest: the latest first, and its next page's token works only with --newest.
        var latest = await GrantctlAsync(auditor, "audit", "query", "--agent", agent, "--kind", "Decision", "--page-size", "1", "--newest");
        Assert.True(latest.Exit == 0, latest.ToString());
        Assert.Contains(decisions[^1], latest.Output, StringComparison.Ordinal);
        Assert.DoesNotContain(decisions[0], latest.Output, StringComparison.Ordinal);
        var printed = System.Text.RegularExpressions.Regex.Match(latest.Output, "next page: --page (\\S+)").Groups[1].Value;
        var second = await GrantctlAsync(auditor, "audit", "query", "--agent", agent, "--kind", "Decision", "--page-size", "1", "--newest", "--page", printed);
        Assert.True(second.Exit == 0, second.ToString());
        Assert.Contains(decisions[^2], second.Output, StringComparison.Ordinal);
        Assert.NotEqual(0, (await GrantctlAsync(auditor, "audit", "query", "--agent", agent, "--page-size", "1", "--page", printed)).Exit);

        // The OpenAPI document describes the parameter.
        var document = await silo.SendAsync(HttpMethod.Get, "/openapi/v1.json", null);
        var order = document.Json.GetProperty("paths").GetProperty("/v1/audit/records").GetProperty("get").GetProperty("parameters").EnumerateArray().Single(p => p.GetProperty("name").GetString() == "order");
        Assert.Equal("query", order.GetProperty("in").GetString());
        Assert.Equal(["oldest", "newest"], order.GetProperty("schema").GetProperty("enum").EnumerateArray().Select(v => v.GetString()));
    }

    [Fact]
    public async Task AnExport_VerifiesOfflineWithThePublishedKeys_AnEditIsCaught_AndNoRawTokenIsAnywhere()
    {
        var run = Guid.NewGuid().ToString("N")[..12];
        var (token, taskId, _, gateway) = await WorldAsync(run);
        for (var i = 0; i < 3; i++)
        {
            Assert.Equal("allow", (await silo.SendAsync(HttpMethod.Post, "/v1/authorize", gateway, new { token, action = "read", resource = new { type = "repo", path = $"acme/export-{i}.md" } }))["kind"]);
        }
        Assert.Equal("deny", (await silo.SendAsync(HttpMethod.Post, "/v1/authorize", gateway, new { token = token + "x", action = "read", resource = new { type = "repo", path = "acme/forged.md" } }))["kind"]);
        var auditorToken = silo.Identity.PersonToken($"aud-{run}@test.dev", "auditor");

        var export = Path.Combine(_home.FullName, "audit.jsonl");
        var keys = Path.Combine(_home.FullName, "keys.json");
        Assert.Equal(0, (await GrantctlAsync(auditorToken, "audit", "export", "--out", export)).Exit);
        Assert.Equal(0, (await GrantctlAsync(auditorToken, "audit", "keys", "--out", keys)).Exit);

        // Someone outside, with the export and the published keys only.
        var intact = await GrantctlAsync(null, "audit", "verify", "--file", export, "--keys", keys);
        Assert.True(intact.Exit == 0, intact.ToString());
        Assert.Contains("Intact", intact.Output, StringComparison.Ordinal);
        var online = await GrantctlAsync(auditorToken, "audit", "verify");
        Assert.True(online.Exit == 0, online.ToString());

        // An allow rewritten as a deny in the export is caught, naming the record.
        var lines = await File.ReadAllLinesAsync(export);
        var index = Array.FindIndex(lines, l => l.Contains("acme/export-1.md", StringComparison.Ordinal));
        Assert.True(index >= 0);
        lines[index] = lines[index].Replace("\\u0022Allow\\u0022", "\\u0022Deny\\u0022", StringComparison.Ordinal).Replace("\\\"Allow\\\"", "\\\"Deny\\\"", StringComparison.Ordinal);
        var edited = Path.Combine(_home.FullName, "edited.jsonl");
        await File.WriteAllLinesAsync(edited, lines);
        Assert.NotEqual(await File.ReadAllTextAsync(export), await File.ReadAllTextAsync(edited));
        var broken = await GrantctlAsync(null, "audit", "verify", "--file", edited, "--keys", keys);
        Assert.True(broken.Exit == 3, broken.ToString());
        Assert.Contains("HashMismatch", broken.Output, StringComparison.Ordinal);

        // A line removed is caught too.
        var removed = Path.Combine(_home.FullName, "removed.jsonl");
        await File.WriteAllLinesAsync(removed, lines.Where((_, i) => i != index));
        Assert.Equal(3, (await GrantctlAsync(null, "audit", "verify", "--file", removed, "--keys", keys)).Exit);

        // So is the start of the log removed (no signed retention cut says retention removed it), naming the stream.
        var headless = Path.Combine(_home.FullName, "headless.jsonl");
        await File.WriteAllLinesAsync(headless, (await File.ReadAllLinesAsync(export)).Skip(2));
        var started = await GrantctlAsync(null, "audit", "verify", "--file", headless, "--keys", keys);
        Assert.True(started.Exit == 3, started.ToString());
        Assert.Contains("StartRemoved", started.Output, StringComparison.Ordinal);

        // A genuine stream copied under another name (another silo's history made of this one's) is caught at the copy's
        // first checkpoint, which was signed for its own stream only: renamed in place, or duplicated beside the original.
        var exported = (await File.ReadAllLinesAsync(export)).Where(l => l.Length > 0).ToArray();
        var renamedLines = exported.Select(l => AuditLine.TryParse(Encoding.UTF8.GetBytes(l))!).Select(l => (l with { Stream = l.Stream + "-copy" }).ToJson()).ToArray();
        foreach (var (name, copy) in new[] { ("renamed", renamedLines), ("duplicated", [.. exported, .. renamedLines]) })
        {
            var file = Path.Combine(_home.FullName, $"{name}.jsonl");
            await File.WriteAllLinesAsync(file, copy);
            var copied = await GrantctlAsync(null, "audit", "verify", "--file", file, "--keys", keys);
            Assert.True(copied.Exit == 3, $"{name}: {copied}");
            Assert.Contains("BROKEN: BadSignature in stream ", copied.Output, StringComparison.Ordinal);
            Assert.Contains("-copy at record", copied.Output, StringComparison.Ordinal);
        }

        // The lineage prints the chain.
        var decisionId = JsonDocument.Parse((await silo.SendAsync(HttpMethod.Post, "/v1/audit/records/search", auditorToken, new { token, pageSize = 1 })).Text).RootElement.GetProperty("items")[0].GetProperty("record").GetProperty("id").GetString()!;
        var printed = await GrantctlAsync(auditorToken, "audit", "lineage", decisionId);
        Assert.True(printed.Exit == 0, printed.ToString());
        Assert.Contains($"person        person:ivy-{run}@test.dev", printed.Output, StringComparison.Ordinal);
        Assert.Contains($"task chain    {taskId}", printed.Output, StringComparison.Ordinal);

        // No raw token or secret: not in the silo's log, its audit segments, the export; and never the purpose text.
        Assert.True(CredentialToken.TryParse(token, out _, out var secret));
        var needles = new[] { token, Convert.ToBase64String(secret), Convert.ToBase64String(secret).TrimEnd('=').Replace('+', '-').Replace('/', '_'), token[(token.LastIndexOf('.') + 1)..] };
        var haystacks = new Dictionary<string, string> { ["silo log"] = silo.Output, ["export"] = await File.ReadAllTextAsync(export) };
        foreach (var file in Directory.EnumerateFiles(silo.AuditDirectory, "*", SearchOption.AllDirectories).Where(f => !f.EndsWith(".lock", StringComparison.Ordinal)))
        {
            haystacks[file] = Encoding.UTF8.GetString(await ReadSharedAsync(file));
        }
        Assert.Contains(haystacks.Keys, k => k.EndsWith(".log", StringComparison.Ordinal));
        foreach (var (where, text) in haystacks)
        {
            foreach (var needle in needles)
            {
                Assert.False(text.Contains(needle, StringComparison.Ordinal), $"a raw token or secret is in the {where}");
            }
            Assert.DoesNotContain($"purpose-{run}", text, StringComparison.Ordinal);
        }
        Assert.Contains(run, haystacks["export"], StringComparison.Ordinal);
    }

    private static async Task<byte[]> ReadSharedAsync(string file)
    {
        await using var stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        using var copy = new MemoryStream();
        await stream.CopyToAsync(copy);
        return copy.ToArray();
    }

    private sealed record Result(int Exit, string Output, string Errors)
    {
        public override string ToString() => $"exit {Exit}: {Output} {Errors}";
    }

    private async Task<Result> GrantctlAsync(string? token, params string[] arguments)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(ChildProcess.BuiltDll("GrantctlDll"));
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }
        start.Environment["GRANTCTL_CONFIG"] = Path.Combine(_home.FullName, "config.json");
        start.Environment["GRANTCTL_URL"] = silo.Http.BaseAddress!.ToString();
        if (token is not null)
        {
            start.Environment["GRANTCTL_TOKEN"] = token;
        }
        else
        {
            start.Environment.Remove("GRANTCTL_TOKEN");
        }
        using var process = Process.Start(start)!;
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var output = process.StandardOutput.ReadToEndAsync(deadline.Token);
        var errors = process.StandardError.ReadToEndAsync(deadline.Token);
        await process.WaitForExitAsync(deadline.Token);
        return new Result(process.ExitCode, await output, await errors);
    }
}
