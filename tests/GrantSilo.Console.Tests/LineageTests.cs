using System.Globalization;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace GrantSilo.WebConsole.Tests;

/// <summary>Lineage in a real browser: a decision followed back to its person, drawn as server-side SVG, each element a link to its own page.</summary>
[Collection(ConsoleSiloCollection.Name)]
public sealed class LineageTests(ConsoleSilo silo)
{
    [Fact]
    public async Task OpenADecisionsLineage_EveryElementOfTheChainIsDrawn_WithItsValueAndItsLink()
    {
        var world = new World(silo);
        var person = $"lina-{world.Run}@test.dev";
        var planner = await world.AgentAsync("planner", depth: 1);
        var worker = await world.AgentAsync("worker");
        var root = await world.RootTaskAsync(person, planner, depth: 1, "find the payments key");
        var (rootProof, _) = await world.CredentialAsync(planner, root);
        var child = await world.DelegateAsync(planner, root, rootProof, worker, depth: 0);
        var (token, credentialId, sessionId) = await world.SessionCredentialAsync(worker, child);
        // A step-up: a decision with a policy version and the policies that asked for a person.
        var decision = await world.ReadSecretAnswerAsync(token, "payments/key");
        Assert.Equal("stepUpRequired", decision["kind"]);
        var decisionId = decision["decisionId"]!;
        var policyVersion = long.Parse(decision["policyVersion"]!, CultureInfo.InvariantCulture);
        var determining = decision.Json.GetProperty("determiningPolicies").EnumerateArray().Select(p => p.GetString()!).ToList();
        Assert.NotEmpty(determining);

        var page = await silo.PageAsync();
        await ConsoleSilo.SignInAsync(page, $"ines-{world.Run}@test.dev", "auditor");
        await page.GetByRole(AriaRole.Navigation, new() { Name = "Console" }).GetByRole(AriaRole.Link, new() { Name = "Lineage", Exact = true }).ClickAsync();
        await page.GetByLabel("Decision id").FillAsync(decisionId);
        await page.GetByRole(AriaRole.Button, new() { Name = "Draw lineage" }).ClickAsync();

        // The picture is SVG drawn by the server: the page's own HTML holds it, no script made it.
        var svg = page.Locator("svg#lineage");
        await Expect(svg).ToBeVisibleAsync();
        var html = await (await page.APIRequest.GetAsync($"/console/lineage?decision={decisionId}")).TextAsync();
        Assert.Contains("<svg id=\"lineage\"", html, StringComparison.Ordinal);

        static string Q(string value) => Uri.EscapeDataString(value);
        var expected = new (string Kind, string Label, string Value, string Href)[]
        {
            ("person", "Person", $"person:{person}", $"/console/records?person={Q($"person:{person}")}"),
            ("orchestrator", "Orchestrator", $"orch-{world.Run}", ""),
            ("task", "Task 1 of 2 (root)", root, $"/console/tasks?id={Q(root)}"),
            ("task", "Task 2 of 2", child, $"/console/tasks?id={Q(child)}"),
            ("agent", "Agent", worker, $"/console/agents?id={Q(worker)}"),
            ("session", "Session", sessionId, $"/console/session?id={Q(sessionId)}"),
            ("credential", "Credential", credentialId, $"/console/credential?id={Q(credentialId)}"),
            ("action", "Action", "read", $"/console/records?resource={Q("payments/key")}&action=read&kind=Decision"),
            ("resource", "Resource", "secret:payments/key", $"/console/records?resource={Q("payments/key")}"),
            ("decision", "Decision", $"StepUpRequired", $"/console/decision?id={Q(decisionId)}"),
            ("policy", "Policy version", $"version {policyVersion}", $"/console/policies?from={Math.Max(0, policyVersion - 1)}&to={policyVersion}"),
        };
        var drawn = svg.Locator("[data-element]");
        await Expect(drawn).ToHaveCountAsync(expected.Length);
        for (var i = 0; i < expected.Length; i++)
        {
            var (kind, label, value, href) = expected[i];
            var element = drawn.Nth(i);
            Assert.Equal(kind, await element.GetAttributeAsync("data-element"));
            // Each element is a link (an SVG <a>), with its label and value drawn as text.
            Assert.Equal("a", await element.EvaluateAsync<string>("e => e.localName"));
            await Expect(element.Locator("text.label")).ToHaveTextAsync(label);
            await Expect(element.Locator("text.value")).ToContainTextAsync(value);
            if (href.Length > 0)
            {
                Assert.Equal(href, await element.GetAttributeAsync("href"));
            }
            else
            {
                Assert.StartsWith("/console/records?caller=", await element.GetAttributeAsync("href"), StringComparison.Ordinal);
            }
        }
        // The policy version lists the policies that determined the decision.
        var determiningDrawn = string.Join(", ", await svg.Locator("[data-element=policy] text.detail").AllTextContentsAsync());
        Assert.All(determining, p => Assert.Contains(p, determiningDrawn, StringComparison.Ordinal));
        // The decision names its id.
        await Expect(svg.Locator("[data-element=decision] text.value")).ToContainTextAsync(decisionId[..20]);
        // The lifecycle records it rested on: the chain's tasks, the session, the credential, the step-up.
        var related = page.GetByTestId("related");
        foreach (var kind in new[] { "TaskCreated", "TaskDelegated", "SessionOpened", "CredentialIssued", "ApprovalRequested" })
        {
            await Expect(related.Locator($"tr[data-kind={kind}]").First).ToBeVisibleAsync();
        }
        await ConsoleSilo.ScreenshotAsync(page, "lineage");
        // On a narrow window the picture scales down to fit, with nothing wider than the window.
        await page.SetViewportSizeAsync(390, 844);
        Assert.True(await page.EvaluateAsync<bool>("() => document.documentElement.scrollWidth <= window.innerWidth + 1"), "the lineage overflows at 390px");
        Assert.True(await svg.EvaluateAsync<double>("e => e.getBoundingClientRect().width") <= 390);
        await ConsoleSilo.ScreenshotAsync(page, "lineage-narrow");
        await page.SetViewportSizeAsync(1280, 800);

        // Keyboard: the drawn elements are focusable links; Enter on the child task opens its tree.
        await svg.Locator("[data-element=task]").Nth(1).FocusAsync();
        await page.Keyboard.PressAsync("Enter");
        await Expect(page.GetByRole(AriaRole.Heading, new() { Level = 1 })).ToHaveTextAsync("Tasks");
        await Expect(page.Locator($"li[data-node=\"{child}\"]")).ToBeVisibleAsync();

        // Each element opens its own page. The decision: its record in full and its place in the hash chain.
        await page.GotoAsync($"/console/lineage?decision={decisionId}");
        await svg.Locator("[data-element=decision]").ClickAsync();
        await Expect(page.GetByRole(AriaRole.Heading, new() { Level = 1 })).ToHaveTextAsync("Decision");
        var record = page.GetByTestId("decision");
        await Expect(record.Locator("[data-field=result]")).ToHaveTextAsync("StepUpRequired");
        await Expect(record.Locator("[data-field=reason]")).ToContainTextAsync("StepUpRequired");
        foreach (var policy in determining)
        {
            await Expect(record.Locator("[data-field=policies]")).ToContainTextAsync(policy);
        }
        await Expect(record.Locator("[data-field=policy-version]")).ToHaveTextAsync($"version {policyVersion}");
        await Expect(record.Locator("[data-field=action]")).ToHaveTextAsync("read");
        await Expect(record.Locator("[data-field=resource]")).ToHaveTextAsync("secret:payments/key");
        await Expect(record.Locator("[data-field=caller]")).ToContainTextAsync($"gateway-{world.Run}");
        await Expect(record.Locator("[data-field=silo]")).Not.ToHaveTextAsync("not recorded");
        await Expect(record.Locator("[data-field=credential]")).ToHaveTextAsync(credentialId);
        await Expect(record.Locator("[data-field=session]")).ToHaveTextAsync(sessionId);
        await Expect(record.Locator("[data-field=task]")).ToHaveTextAsync(child);
        await Expect(record.Locator("[data-field=person]")).ToHaveTextAsync($"person:{person}");
        var chain = page.GetByTestId("chain");
        Assert.True(long.Parse(await chain.Locator("[data-field=sequence]").InnerTextAsync(), CultureInfo.InvariantCulture) >= 0);
        await Expect(chain.Locator("[data-field=hash]")).ToHaveTextAsync(new System.Text.RegularExpressions.Regex("^[0-9a-fA-F]{64}$|^[A-Za-z0-9+/=_-]{40,}$"));
        await Expect(chain.Locator("[data-field=previous-hash]")).Not.ToBeEmptyAsync();
        await ConsoleSilo.ScreenshotAsync(page, "lineage-decision");
        await NarrowAsync(page, "lineage-decision");

        // The credential: its status, expiry, scope, binding, task and session, and its decisions (this one among them).
        await page.GotoAsync($"/console/lineage?decision={decisionId}");
        await svg.Locator("[data-element=credential]").ClickAsync();
        await Expect(page.GetByRole(AriaRole.Heading, new() { Level = 1 })).ToHaveTextAsync("Credential");
        var credentialPage = page.GetByTestId("credential");
        await Expect(credentialPage.Locator("[data-field=status]")).ToContainTextAsync("Active");
        await Expect(credentialPage.Locator("[data-field=expires]")).ToContainTextAsync("UTC");
        await Expect(credentialPage.Locator("[data-field=scope]")).ToContainTextAsync("secret:read:*");
        await Expect(credentialPage.Locator("[data-field=binding]")).ToContainTextAsync(worker);
        await Expect(credentialPage.Locator("[data-field=binding]")).ToContainTextAsync(sessionId);
        await Expect(credentialPage.Locator("[data-field=audience]")).ToContainTextAsync("any resource");
        await Expect(credentialPage.Locator("[data-field=key-binding]")).ToContainTextAsync("bearer");
        await Expect(credentialPage.Locator("[data-field=task]")).ToHaveTextAsync(child);
        await Expect(page.Locator($"[data-testid=credential-decisions] li[data-decision=\"{decisionId}\"]")).ToContainTextAsync("StepUpRequired");
        await ConsoleSilo.ScreenshotAsync(page, "lineage-credential");
        await NarrowAsync(page, "lineage-credential");
        // Its decision links back to the decision's page.
        await page.Locator($"[data-testid=credential-decisions] li[data-decision=\"{decisionId}\"] a").ClickAsync();
        await Expect(page.GetByTestId("decision").Locator("[data-field=result]")).ToHaveTextAsync("StepUpRequired");

        // The session: its agent, status and the credentials issued in it.
        await page.GotoAsync($"/console/lineage?decision={decisionId}");
        await svg.Locator("[data-element=session]").ClickAsync();
        await Expect(page.GetByRole(AriaRole.Heading, new() { Level = 1 })).ToHaveTextAsync("Session");
        var sessionPage = page.GetByTestId("session");
        await Expect(sessionPage.Locator("[data-field=agent]")).ToHaveTextAsync(worker);
        await Expect(sessionPage.Locator("[data-field=status]")).ToContainTextAsync("Active");
        await Expect(sessionPage.Locator("[data-field=live]")).ToHaveTextAsync("1");
        await Expect(page.Locator($"[data-testid=session-credentials] li[data-credential=\"{credentialId}\"]")).ToBeVisibleAsync();
        await ConsoleSilo.ScreenshotAsync(page, "lineage-session");
        await NarrowAsync(page, "lineage-session");

        // The person, the resource and the action have no entity of their own in GrantSilo: their page is their audit
        // records (the person's work, the resource's records, the action's decisions on the resource), this decision among them.
        foreach (var kind in new[] { "person", "resource", "action" })
        {
            await page.GotoAsync($"/console/lineage?decision={decisionId}");
            await svg.Locator($"[data-element={kind}]").ClickAsync();
            await Expect(page.GetByRole(AriaRole.Heading, new() { Level = 1 })).ToHaveTextAsync("Audit records");
            await Expect(page.Locator($"[data-testid=records] tr[data-record=\"{decisionId}\"]")).ToBeVisibleAsync();
        }
        await ConsoleSilo.ScreenshotAsync(page, "lineage-records");
        // The orchestrator's records are what it did as a caller: it created the root task.
        await page.GotoAsync($"/console/lineage?decision={decisionId}");
        await svg.Locator("[data-element=orchestrator]").ClickAsync();
        await Expect(page.Locator("[data-testid=records] tr[data-kind=TaskCreated]").First).ToBeVisibleAsync();
        // The policy version opens the policies page with that version against the one before.
        await page.GotoAsync($"/console/lineage?decision={decisionId}");
        await svg.Locator("[data-element=policy]").ClickAsync();
        await Expect(page.GetByRole(AriaRole.Heading, new() { Level = 1 })).ToHaveTextAsync("Policies");

        // By credential: the same chain, drawn from the credential's newest decision.
        await page.GotoAsync($"/console/lineage?credential={Q(credentialId)}");
        await Expect(svg.Locator("[data-element=decision] text.value")).ToContainTextAsync(decisionId[..20]);
        await Expect(svg.Locator("[data-element=credential] text.value")).ToHaveTextAsync(credentialId);
    }

    // The page on a narrow window: nothing wider than it (long ids and hashes wrap); then back to 1280x800.
    private static async Task NarrowAsync(IPage page, string name)
    {
        await page.SetViewportSizeAsync(390, 844);
        Assert.True(await page.EvaluateAsync<bool>("() => document.documentElement.scrollWidth <= window.innerWidth + 1"), $"{name} overflows at 390px");
        await ConsoleSilo.ScreenshotAsync(page, name + "-narrow");
        await page.SetViewportSizeAsync(1280, 800);
    }

    [Fact]
    public async Task ACredentialWithoutADecision_IsDrawnFromItsIssue_WithNothingInventedAfterIt()
    {
        var world = new World(silo);
        var agent = await world.AgentAsync("idle");
        var task = await world.RootTaskAsync($"ida-{world.Run}@test.dev", agent, depth: 0, "nothing yet");
        var (_, credentialId, sessionId) = await world.SessionCredentialAsync(agent, task);

        var page = await silo.PageAsync();
        await ConsoleSilo.SignInAsync(page, $"ivo-{world.Run}@test.dev", "operator");
        await page.GotoAsync("/console/lineage");
        await page.GetByLabel("or credential id").FillAsync(credentialId);
        await page.GetByRole(AriaRole.Button, new() { Name = "Draw lineage" }).ClickAsync();
        var svg = page.Locator("svg#lineage");
        await Expect(page.GetByRole(AriaRole.Heading, new() { Level = 2 }).First).ToContainTextAsync("no decision made with it yet");
        await Expect(svg.Locator("[data-element=person] text.value")).ToHaveTextAsync($"person:ida-{world.Run}@test.dev");
        await Expect(svg.Locator("[data-element=session] text.value")).ToHaveTextAsync(sessionId);
        await Expect(svg.Locator("[data-element=credential] text.value")).ToHaveTextAsync(credentialId);
        foreach (var kind in new[] { "action", "resource", "decision", "policy" })
        {
            // Not a link, and marked as not recorded.
            var element = svg.Locator($"[data-element={kind}]");
            Assert.Equal("g", await element.EvaluateAsync<string>("e => e.localName"));
            await Expect(element.Locator("text.value")).ToHaveTextAsync("(none recorded)");
        }
        await Expect(page.GetByTestId("related").Locator("tr[data-kind=CredentialIssued]")).ToHaveCountAsync(1);
    }

    [Fact]
    public async Task Lineage_NeedsAuditRead_APersonWithoutItSeesTheApisRefusal()
    {
        var world = new World(silo);
        var page = await silo.PageAsync();
        await ConsoleSilo.SignInAsync(page, $"abe-{world.Run}@test.dev", "approver");
        await page.GotoAsync("/console/lineage?decision=0190a0b0-0000-7000-8000-000000000000");
        await Expect(page.GetByTestId("problem")).ToContainTextAsync("Forbidden");
        Assert.Equal(0, await page.Locator("svg#lineage").CountAsync());
        // The decision's own page asks the same rule.
        await page.GotoAsync("/console/decision?id=0190a0b0-0000-7000-8000-000000000000");
        await Expect(page.GetByTestId("problem")).ToContainTextAsync("Forbidden");
        Assert.Equal(0, await page.GetByTestId("decision").CountAsync());
    }

    [Fact]
    public async Task ElementPages_OfSomethingUnknown_ShowTheApisProblem()
    {
        var page = await silo.PageAsync();
        await ConsoleSilo.SignInAsync(page, $"uma-{Guid.NewGuid():N}@test.dev", "operator");
        foreach (var (path, code) in new[] { ("/console/decision?id=0190a0b0-0000-7000-8000-000000000000", "AuditRecordNotFound"), ("/console/credential?id=AAAAAAAAAAAAAAAAAAAAAA", "CredentialNotFound"), ("/console/credential?id=c-none", "InvalidIdentifier"), ("/console/session?id=s-none", "SessionNotFound") })
        {
            await page.GotoAsync(path);
            await Expect(page.GetByTestId("problem")).ToContainTextAsync(code);
        }
    }
}
