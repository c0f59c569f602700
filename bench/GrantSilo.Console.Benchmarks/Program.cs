using System.Globalization;
using GrantSilo.WebConsole.Tests;
using Microsoft.Playwright;

// The console's two latencies, measured in Debian's Chromium against a real silo-host process on loopback:
//   (1) from a gateway's step-up request (just before it is sent) to the approval's card being in an open inbox;
//   (2) from the click that confirms revoking the root of a 100-node tree to the moment every node shows Revoked.
// Browser-side instants are read from the page's clock (performance.timeOrigin + now), the same system clock as the
// process's; nothing here is asserted in tests.
var requests = Option("--requests", 100);
var trees = Option("--trees", 3);
var culture = CultureInfo.InvariantCulture;

var silo = new ConsoleSilo();
await silo.InitializeAsync();
try
{
    var world = new World(silo);
    var person = $"bench-{world.Run}@test.dev";

    // ---- (1) step-up → inbox ----
    var agent = await world.AgentAsync("secrets");
    var task = await world.RootTaskAsync(person, agent, depth: 0, "benchmark");
    var (token, _) = await world.CredentialAsync(agent, task);
    var inbox = await silo.PageAsync();
    await ConsoleSilo.SignInAsync(inbox, person, "approver");
    await inbox.GotoAsync("/console/approvals");
    await Assertions.Expect(inbox.Locator("#inbox-state")).ToContainTextAsync("Live");
    // A card's arrival instant, recorded by the page itself as it is inserted.
    await inbox.EvaluateAsync("""
        () => {
          window.__arrived = {};
          new MutationObserver(records => {
            const at = performance.timeOrigin + performance.now();
            for (const r of records) for (const n of r.addedNodes)
              if (n.dataset && n.dataset.approval && !(n.dataset.approval in window.__arrived)) window.__arrived[n.dataset.approval] = at;
          }).observe(document.getElementById('inbox'), { childList: true });
        }
        """);
    // Warm-up: the first request pays for activations and JIT.
    for (var i = 0; i < 5; i++)
    {
        var (_, warm) = await world.ReadSecretAsync(token, $"warm/{i}");
        await inbox.Locator($"[data-approval=\"{warm}\"]").WaitForAsync();
    }
    var arrivals = new List<double>(requests);
    for (var i = 0; i < requests; i++)
    {
        var sent = Now();
        var (kind, approvalId) = await world.ReadSecretAsync(token, $"bench/{i}");
        if (kind != "stepUpRequired")
        {
            throw new InvalidOperationException($"Request {i} was {kind}, not a step-up.");
        }
        var arrived = await inbox.WaitForFunctionAsync($"() => window.__arrived['{approvalId}'] ?? false", null, new() { PollingInterval = 2, Timeout = 30_000 });
        arrivals.Add(await arrived.JsonValueAsync<double>() - sent);
    }
    arrivals.Sort();
    Console.WriteLine(string.Create(culture, $"(1) step-up request -> card in the open inbox, {requests} requests: median {Percentile(arrivals, 50):0.0} ms, p99 {Percentile(arrivals, 99):0.0} ms, min {arrivals[0]:0.0} ms, max {arrivals[^1]:0.0} ms"));

    // ---- (2) revoke click → last of 100 nodes shows Revoked ----
    var operatorPage = await silo.PageAsync();
    await ConsoleSilo.SignInAsync(operatorPage, $"ops-{world.Run}@test.dev", "operator");
    var planner = await world.AgentAsync("planner", depth: 2);
    var worker = await world.AgentAsync("worker", depth: 1);
    var helper = await world.AgentAsync("helper");
    var results = new List<double>();
    for (var t = 0; t < trees; t++)
    {
        // 1 root, 9 children, 10 grandchildren each: 100 nodes.
        var root = await world.RootTaskAsync(person, planner, depth: 2, "benchmark tree");
        var (rootProof, _) = await world.CredentialAsync(planner, root);
        for (var c = 0; c < 9; c++)
        {
            var child = await world.DelegateAsync(planner, root, rootProof, worker, depth: 1);
            var (childProof, _) = await world.CredentialAsync(worker, child);
            for (var g = 0; g < 10; g++)
            {
                await world.DelegateAsync(worker, child, childProof, helper, depth: 0);
            }
        }
        await operatorPage.GotoAsync($"/console/tasks?id={root}&revoke={root}");
        await Assertions.Expect(operatorPage.GetByTestId("confirm-text")).ToContainTextAsync("99 live descendant task(s)");
        await Assertions.Expect(operatorPage.Locator("li[data-node]")).ToHaveCountAsync(100);
        await operatorPage.GetByLabel("Reason (recorded)").FillAsync("benchmark");
        var clicked = await operatorPage.EvaluateAsync<double>("() => performance.timeOrigin + performance.now()");
        await operatorPage.GetByRole(AriaRole.Button, new() { Name = "Revoke 100 task(s)" }).ClickAsync();
        await operatorPage.WaitForURLAsync(url => !url.Contains("revoke=", StringComparison.Ordinal));
        var done = await operatorPage.WaitForFunctionAsync("""
            () => {
              const nodes = document.querySelectorAll('#tree li[data-node]');
              return nodes.length === 100 && [...nodes].every(n => n.dataset.status === 'Revoked') ? performance.timeOrigin + performance.now() : false;
            }
            """, null, new() { PollingInterval = 2, Timeout = 60_000 });
        var took = await done.JsonValueAsync<double>() - clicked;
        results.Add(took);
        Console.WriteLine(string.Create(culture, $"(2) tree {t + 1}: revoke click -> all 100 nodes show Revoked: {took:0.0} ms"));
    }
    results.Sort();
    Console.WriteLine(string.Create(culture, $"(2) {trees} tree(s) of 100 nodes: median {Percentile(results, 50):0.0} ms, min {results[0]:0.0} ms, max {results[^1]:0.0} ms"));
}
finally
{
    await silo.DisposeAsync();
}

static double Now() => (DateTime.UtcNow - DateTime.UnixEpoch).TotalMilliseconds;

static double Percentile(List<double> sorted, int p) => sorted[Math.Clamp((int)Math.Ceiling(p / 100.0 * sorted.Count) - 1, 0, sorted.Count - 1)];

int Option(string name, int fallback)
{
    var i = Array.IndexOf(args, name);
    return i >= 0 && i + 1 < args.Length && int.TryParse(args[i + 1], NumberStyles.Integer, CultureInfo.InvariantCulture, out var value) && value > 0 ? value : fallback;
}
