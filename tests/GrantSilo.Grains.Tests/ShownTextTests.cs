namespace GrantSilo.Grains.Tests;

/// <summary>Free text shown to people (purpose, summaries, comments, display names) follows the reason-text rules.</summary>
[Collection(ClusterCollection.Name)]
public class ShownTextTests(ClusterFixture fixture)
{
    private readonly Scenario _s = new(fixture);

    public static TheoryData<string> Forbidden => new()
    {
        "ship \u202Eit",      // right-to-left override
        "line one\nline two", // line feed
        "ding\u0007",         // BEL
        "zero\u200Bwidth",    // zero-width space
        "para\u2029graph",    // paragraph separator
    };

    private static void AssertRefused<T>(GrantResult<T> result, string field)
    {
        Assert.Equal(GrantErrorCode.InvalidArgument, result.Error?.Code);
        Assert.StartsWith($"The {field} contains a forbidden character", result.Error!.Message, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(Forbidden))]
    public async Task Purpose_WithInvisibleOrControlCharacters_IsRefused_AndNothingIsCreated(string purpose)
    {
        var scope = Scenario.Scope(1, "doc:read:*");
        var planner = await _s.AgentAsync("planner", scope);
        var worker = await _s.AgentAsync("worker", Scenario.Scope(0, "doc:read:*"));

        var created = await _s.Client.CreateTaskAsync(new CreateTaskRequest
        {
            Person = "person:alice@test.dev", Orchestrator = "orchestrator:test", Agent = planner, Scope = scope,
            Lifetime = TimeSpan.FromHours(1), Purpose = purpose,
        });
        AssertRefused(created, "purpose");
        Assert.Equal(0, (await _s.Client.GetAgentAsync(planner)).Value.LiveTasks);

        var root = await _s.RootTaskAsync(planner, scope);
        var (_, proof) = await _s.CredentialAsync(planner, root.TaskId);
        var child = await _s.Client.DelegateAsync(root.TaskId, new DelegationRequest
        {
            ProofToken = proof.Token, Agent = worker, Scope = Scenario.Scope(0, "doc:read:*"), Lifetime = TimeSpan.FromMinutes(30), Purpose = purpose,
        });
        AssertRefused(child, "purpose");
        Assert.Empty((await _s.Client.GetTaskAsync(root.TaskId)).Value.Children);
    }

    [Fact]
    public async Task Purpose_IsRecordedTrimmedAndInNfc()
    {
        var scope = Scenario.Scope(0, "doc:read:*");
        var agent = await _s.AgentAsync("worker", scope);
        var created = await _s.Client.CreateTaskAsync(new CreateTaskRequest
        {
            Person = "person:alice@test.dev", Orchestrator = "orchestrator:test", Agent = agent, Scope = scope,
            Lifetime = TimeSpan.FromHours(1), Purpose = "  cafe\u0301 menu update  ",
        });
        Assert.Equal("caf\u00e9 menu update", created.Value.Purpose);
    }

    [Theory]
    [MemberData(nameof(Forbidden))]
    public async Task SummaryCommentAndDisplayName_WithInvisibleOrControlCharacters_AreRefused(string text)
    {
        var scope = Scenario.Scope(0, "doc:read:*", "secret:read:*");
        var agent = await _s.AgentAsync("worker", scope);
        var task = await _s.RootTaskAsync(agent, scope);

        AssertRefused(await _s.Client.CompleteTaskAsync(task.TaskId, text), "summary");
        Assert.Equal(GrantTaskStatus.Active, (await _s.Client.GetTaskAsync(task.TaskId)).Value.Status);
        AssertRefused(await _s.Client.RevokeTaskAsync(task.TaskId, text), "reason");
        Assert.Equal(GrantTaskStatus.Active, (await _s.Client.GetTaskAsync(task.TaskId)).Value.Status);

        var (_, credential) = await _s.CredentialAsync(agent, task.TaskId);
        var stepUp = await _s.Client.AuthorizeAsync(credential.Token, "read", new ResourceRef { Type = "secret", Path = "payments/db-password" });
        Assert.Equal(DecisionKind.StepUpRequired, stepUp.Kind);
        AssertRefused(await _s.Client.ApproveAsync(stepUp.ApprovalId!, "person:bob@test.dev", text), "comment");
        AssertRefused(await _s.Client.DenyApprovalAsync(stepUp.ApprovalId!, "person:bob@test.dev", text), "reason");
        Assert.Equal(ApprovalStatus.Pending, (await _s.Client.GetApprovalAsync(stepUp.ApprovalId!)).Value.Status);

        var named = await _s.Client.RegisterAgentAsync($"spiffe://test.dev/{Guid.NewGuid():N}/named", new AgentRegistration
        {
            Owner = "person:owner@test.dev", Ceiling = scope, DisplayName = text,
        });
        AssertRefused(named, "display name");
    }
}
