namespace GrantSilo.Grains.Tests;

[Collection(ClusterCollection.Name)]
public class SuspensionTests(ClusterFixture fixture)
{
    private readonly Scenario _s = new(fixture);

    [Fact]
    public async Task SuspendedAncestorAgent_DeniesTheWholeSubtree_EvenWhileItsCascadeIsPending()
    {
        var ceiling = Scenario.Scope(1, "doc:read:*");
        var planner = await _s.AgentAsync("planner", ceiling);
        var worker = await _s.AgentAsync("worker", Scenario.Scope(0, "doc:read:*"));
        var root = await _s.RootTaskAsync(planner, ceiling);
        var (plannerSession, proof) = await _s.CredentialAsync(planner, root.TaskId);
        var child = (await _s.DelegateAsync(root.TaskId, proof.Token, worker, Scenario.Scope(0, "doc:read:*"))).Value;
        var (_, workerCredential) = await _s.CredentialAsync(worker, child.TaskId);
        await WaitUntilTrackedAsync(planner);

        // The planner's task cannot record its end, so the suspension's cascade stays pending.
        FlakyGrainStorage.FailingKeys[root.TaskId] = true;
        try
        {
            var suspended = (await _s.Client.SuspendAgentAsync(planner, "compromised")).Value;
            Assert.Equal(AgentStatus.Suspended, suspended.Status);
            Assert.True(suspended.PendingCascade > 0);

            // Nothing below the suspended agent is allowed, though its task is still Active on record.
            var decision = await _s.AuthorizeAsync(workerCredential, "read", "doc", "a");
            Assert.Equal(DecisionKind.Deny, decision.Kind);
            Assert.Equal(DecisionReason.AgentNotActive, decision.Reason);
            // Nor can the suspended agent's proof delegate, or its task issue credentials.
            Assert.Equal(GrantErrorCode.InvalidProof, (await _s.DelegateAsync(root.TaskId, proof.Token, worker, Scenario.Scope(0, "doc:read:*"))).Error?.Code);
            // And it cannot be resumed until everything it held has ended.
            Assert.Equal(GrantErrorCode.InvalidState, (await _s.Client.ResumeAgentAsync(planner, "false alarm")).Error?.Code);
        }
        finally
        {
            FlakyGrainStorage.FailingKeys.TryRemove(root.TaskId, out _);
        }
        Assert.Equal(SessionStatus.Ended, (await _s.Client.GetSessionAsync(plannerSession)).Value.Status);
    }

    [Fact]
    public async Task Reasons_WithControlOrBidiCharacters_AreRefusedAndChangeNothing()
    {
        var scope = Scenario.Scope(0, "doc:read:*");
        var agent = await _s.AgentAsync("worker", scope);
        var task = await _s.RootTaskAsync(agent, scope);
        var (session, credential) = await _s.CredentialAsync(agent, task.TaskId);

        Assert.Equal(GrantErrorCode.InvalidArgument, (await _s.Client.RevokeTaskAsync(task.TaskId, "ok\u202Eevil")).Error?.Code);
        Assert.Equal(GrantErrorCode.InvalidArgument, (await _s.Client.RevokeCredentialAsync(credential.CredentialId, "line\nbreak")).Error?.Code);
        Assert.Equal(GrantErrorCode.InvalidArgument, (await _s.Client.SuspendAgentAsync(agent, new string('x', 5000))).Error?.Code);
        Assert.Equal(GrantErrorCode.InvalidArgument, (await _s.Client.EndSessionAsync(session, "\u0000")).Error?.Code);
        Assert.True((await _s.AuthorizeAsync(credential, "read", "doc", "a")).IsAllowed);
    }

    [Fact]
    public async Task WrongSecret_LearnsNothingAboutTheCredential()
    {
        var scope = Scenario.Scope(0, "doc:read:*");
        var agent = await _s.AgentAsync("worker", scope);
        var task = await _s.RootTaskAsync(agent, scope);
        var (_, credential) = await _s.CredentialAsync(agent, task.TaskId);
        var forged = ForgedTokens.For(credential.CredentialId);

        var decision = await _s.Client.AuthorizeAsync(forged, "read", new ResourceRef { Type = "doc", Path = "a" });
        Assert.Equal(DecisionReason.UnknownCredential, decision.Reason);
        Assert.Null(decision.TaskId);
        Assert.Null(decision.Agent);
    }

    private Task WaitUntilTrackedAsync(string agent) =>
        Eventually.LastAsync(async () => (await _s.Client.GetAgentAsync(agent)).Value, a => a.LiveTasks > 0);
}
