namespace GrantSilo.Grains.Tests;

/// <summary>A checkpoint denial says what to do next: which task to re-authorize, with what call, and who may.</summary>
[Collection(ClusterCollection.Name)]
public class CheckpointDenialTests(ClusterFixture fixture)
{
    private readonly Scenario _s = new(fixture);

    [Fact]
    public async Task CheckpointDenial_NamesReauthorizeTaskAsync_TheTask_AndWhoMayCallIt()
    {
        var ceiling = Scenario.Scope(1, "doc:read:*");
        var planner = await _s.AgentAsync("planner", ceiling);
        var worker = await _s.AgentAsync("worker", Scenario.Scope(0, "doc:read:*"));
        var root = await _s.RootTaskAsync(planner, ceiling, TimeSpan.FromHours(2), checkpoint: TimeSpan.FromMinutes(10));
        var (_, proof) = await _s.CredentialAsync(planner, root.TaskId);
        var child = (await _s.DelegateAsync(root.TaskId, proof.Token, worker, Scenario.Scope(0, "doc:read:*"))).Value;
        var (session, childCredential) = await _s.CredentialAsync(worker, child.TaskId);

        fixture.Time.Advance(TimeSpan.FromMinutes(10));
        var expected = $"Task '{root.TaskId}' is paused at its checkpoint until it is re-authorized: call ReauthorizeTaskAsync(\"{root.TaskId}\"), a fresh check against current policy. " +
            "The task's person (person:alice@test.dev) or an orchestrator acting for them may call it.";

        // Below the paused task, and at it.
        var denied = await _s.AuthorizeAsync(childCredential, "read", "doc", "a");
        Assert.Equal((DecisionReason.TaskAwaitingReauthorization, expected), (denied.Reason, denied.Detail));
        Assert.Equal(expected, (await _s.AuthorizeAsync(proof, "read", "doc", "a")).Detail);
        // Refusals to issue or delegate meanwhile say the same.
        var issue = await _s.Client.IssueCredentialAsync(session, new IssueCredentialRequest { TaskId = child.TaskId });
        Assert.Equal((GrantErrorCode.TaskNotUsable, expected), (issue.Error?.Code, issue.Error?.Message));

        Assert.True((await _s.Client.ReauthorizeTaskAsync(root.TaskId)).IsSuccess);
        Assert.True((await _s.AuthorizeAsync(childCredential, "read", "doc", "a")).IsAllowed);
    }
}
