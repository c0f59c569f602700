namespace GrantSilo.WebConsole.Tests;

/// <summary>The lineage's elements and its SVG, without a browser: order, links, missing parts, and encoding.</summary>
public sealed class LineageGraphTests
{
    private static AuditRecord Decision(string path = "payments/key") => new()
    {
        Id = "01a2199a93fd7be691dcf79bf5469c26",
        Kind = AuditEventKind.Decision,
        At = DateTimeOffset.UnixEpoch,
        RootPerson = "person:dana@acme.dev",
        Orchestrator = "service:orch",
        TaskChain = ["t-root", "t-mid", "t-leaf"],
        TaskId = "t-leaf",
        Agent = "spiffe://acme.dev/agent/worker",
        SessionId = "s-1",
        CredentialId = "c-1",
        Action = "read",
        ResourceType = "secret",
        ResourcePath = path,
        Decision = DecisionKind.Deny,
        Reason = DecisionReason.ScopeDoesNotCover,
        PolicyVersion = 0,
        DeterminingPolicies = ["a-very-long-policy-id-number-one", "a-very-long-policy-id-number-two", "three"],
    };

    [Fact]
    public void Of_ADecision_IsTheWholeChainInOrder_EachWithItsOwnPage()
    {
        var elements = LineageGraph.Of(Decision());
        Assert.Equal(new[] { "person", "orchestrator", "task", "task", "task", "agent", "session", "credential", "action", "resource", "decision", "policy" }, elements.Select(e => e.Kind));
        Assert.Equal(new[] { "Task 1 of 3 (root)", "Task 2 of 3", "Task 3 of 3" }, elements.Where(e => e.Kind == "task").Select(e => e.Label));
        Assert.Equal("/console/records?person=person%3Adana%40acme.dev", elements[0].Href);
        Assert.Equal("/console/tasks?id=t-mid", elements[3].Href);
        Assert.Equal("/console/agents?id=spiffe%3A%2F%2Facme.dev%2Fagent%2Fworker", elements[5].Href);
        Assert.Equal("/console/session?id=s-1", elements[6].Href);
        Assert.Equal("/console/credential?id=" + Uri.EscapeDataString(elements[7].Value!), elements[7].Href);
        Assert.Equal("/console/decision?id=01a2199a93fd7be691dcf79bf5469c26", elements[10].Href);
        Assert.Equal("secret:payments/key", elements[9].Value);
        Assert.Equal("Deny (ScopeDoesNotCover) · 01a2199a93fd7be691dcf79bf5469c26", elements[10].Value);
        Assert.Equal("/console/policies?from=0&to=0", elements[11].Href);
        // The determining policies wrap into lines no longer than a drawn value, and none is lost.
        var details = elements[11].Details!;
        Assert.All(details, line => Assert.True(line.Length <= LineageGraph.MaxDrawnLength, line));
        Assert.Equal(Decision().DeterminingPolicies.ToArray(), string.Join(", ", details).Split(", "));
    }

    [Fact]
    public void Of_ACredentialsIssue_DrawsNoDecision_AndLinksNothingItDoesNotHave()
    {
        var issued = new AuditRecord { Id = "r-1", Kind = AuditEventKind.CredentialIssued, At = DateTimeOffset.UnixEpoch, RootPerson = "person:dana@acme.dev", TaskChain = ["t-root"], Agent = "spiffe://acme.dev/a", CredentialId = "c-1" };
        var elements = LineageGraph.Of(issued);
        foreach (var kind in new[] { "orchestrator", "session", "action", "resource", "decision", "policy" })
        {
            var element = Assert.Single(elements, e => e.Kind == kind);
            Assert.Null(element.Value);
            Assert.Null(element.Href);
            Assert.Equal("(none recorded)", element.Drawn);
        }
        Assert.Equal("Task", Assert.Single(elements, e => e.Kind == "task").Label);
    }

    [Fact]
    public void Render_EncodesEveryValue_LinksWhatHasAPage_AndShortensOnlyTheDrawing()
    {
        var hostile = "x\"><script>alert(1)</script>/" + new string('a', 80);
        var svg = LineageSvg.Render(LineageGraph.Of(Decision(hostile)), "Lineage <of> a decision");
        Assert.DoesNotContain("<script>", svg, StringComparison.Ordinal);
        Assert.Contains("&lt;script&gt;", svg, StringComparison.Ordinal);
        Assert.Contains("<title id=\"lineage-title\">Lineage &lt;of&gt; a decision</title>", svg, StringComparison.Ordinal);
        Assert.Equal(12, CountOf(svg, "data-element="));
        Assert.Equal(12, CountOf(svg, "<a href="));
        Assert.Equal(11, CountOf(svg, "class=\"edge\""));
        // The drawing shortens the long resource; its link's name keeps all of it.
        Assert.Contains("…</text>", svg, StringComparison.Ordinal);
        Assert.Contains(new string('a', 80), svg, StringComparison.Ordinal);
        Assert.DoesNotContain("style=", svg, StringComparison.Ordinal);
        Assert.DoesNotContain("<script", svg, StringComparison.Ordinal);
    }

    private static int CountOf(string text, string part) => (text.Length - text.Replace(part, "", StringComparison.Ordinal).Length) / part.Length;
}
