using GrantSilo.GrainInterfaces;
using System.Collections.Concurrent;

namespace GrantSilo.Grains.Tests;

[Collection(ClusterCollection.Name)]
public class StepUpTests(ClusterFixture fixture)
{
    private readonly Scenario _s = new(fixture);

    private async Task<(string Agent, IssuedCredential Credential)> SecretReaderAsync()
    {
        var scope = Scenario.Scope(0, "secret:read:*", "doc:read:*");
        var agent = await _s.AgentAsync("worker", scope);
        var task = await _s.RootTaskAsync(agent, scope);
        var (_, credential) = await _s.CredentialAsync(agent, task.TaskId);
        return (agent, credential);
    }

    private static ResourceRef Secret(string path = "payments/db-password") => new() { Type = "secret", Path = path };

    [Fact]
    public async Task StepUp_ApprovedApprovalAllowsExactlyOnce()
    {
        var (_, credential) = await SecretReaderAsync();

        var stepUp = await _s.Client.AuthorizeAsync(credential.Token, "read", Secret());
        Assert.Equal(DecisionKind.StepUpRequired, stepUp.Kind);
        Assert.Equal(DecisionReason.StepUpRequired, stepUp.Reason);
        Assert.False(stepUp.IsAllowed);
        Assert.NotNull(stepUp.ApprovalId);
        Assert.Contains("secret-read-needs-approval", stepUp.DeterminingPolicies);

        var pending = (await _s.Client.GetApprovalAsync(stepUp.ApprovalId!)).Value;
        Assert.Equal(ApprovalStatus.Pending, pending.Status);
        Assert.Equal(credential.CredentialId, pending.CredentialId);
        Assert.Equal("read", pending.Action);
        Assert.Equal("payments/db-password", pending.Resource.Path);
        Assert.Equal(fixture.Time.GetUtcNow() + TimeSpan.FromMinutes(10), pending.ExpiresAt);
        Assert.Contains("secret-read-needs-approval", pending.ApprovalPolicies);

        // Before a person decides, the retry is not allowed.
        Assert.Equal(DecisionReason.ApprovalPending, (await _s.Client.AuthorizeAsync(credential.Token, "read", Secret(), stepUp.ApprovalId!)).Reason);

        var approved = await _s.Client.ApproveAsync(stepUp.ApprovalId!, "person:bob@test.dev", "looked at the ticket");
        Assert.True(approved.IsSuccess, approved.Error?.ToString());
        Assert.Equal(ApprovalStatus.Approved, approved.Value.Status);

        var allowed = await _s.Client.AuthorizeAsync(credential.Token, "read", Secret(), stepUp.ApprovalId!);
        Assert.True(allowed.IsAllowed, allowed.Detail);
        Assert.Equal(stepUp.ApprovalId, allowed.ApprovalId);
        Assert.Equal(ApprovalStatus.Used, (await _s.Client.GetApprovalAsync(stepUp.ApprovalId!)).Value.Status);

        var again = await _s.Client.AuthorizeAsync(credential.Token, "read", Secret(), stepUp.ApprovalId!);
        Assert.Equal(DecisionKind.Deny, again.Kind);
        Assert.Equal(DecisionReason.ApprovalInvalid, again.Reason);

        // A decided approval cannot be decided again.
        Assert.Equal(GrantErrorCode.ApprovalNotPending, (await _s.Client.DenyApprovalAsync(stepUp.ApprovalId!, "person:bob@test.dev")).Error?.Code);
    }

    [Fact]
    public async Task StepUp_ConcurrentRetriesWithOneApproval_AllowExactlyOne()
    {
        var (_, credential) = await SecretReaderAsync();
        var stepUp = await _s.Client.AuthorizeAsync(credential.Token, "read", Secret());
        Assert.True((await _s.Client.ApproveAsync(stepUp.ApprovalId!, "person:bob@test.dev")).IsSuccess);

        var decisions = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => _s.Client.AuthorizeAsync(credential.Token, "read", Secret(), stepUp.ApprovalId!)));
        Assert.Single(decisions, d => d.IsAllowed);
        Assert.All(decisions.Where(d => !d.IsAllowed), d => Assert.Equal(DecisionReason.ApprovalInvalid, d.Reason));
    }

    [Fact]
    public async Task StepUp_ApprovalIsBoundToTheExactCredentialActionAndResource()
    {
        var (agent, credential) = await SecretReaderAsync();
        var stepUp = await _s.Client.AuthorizeAsync(credential.Token, "read", Secret());
        Assert.True((await _s.Client.ApproveAsync(stepUp.ApprovalId!, "person:bob@test.dev")).IsSuccess);

        // Another resource, or the same resource with other attributes, is not what was approved.
        Assert.Equal(DecisionReason.ApprovalInvalid, (await _s.Client.AuthorizeAsync(credential.Token, "read", Secret("payments/other"), stepUp.ApprovalId!)).Reason);
        Assert.Equal(DecisionReason.ApprovalInvalid, (await _s.Client.AuthorizeAsync(credential.Token, "read", Secret() with { Attributes = new Dictionary<string, string> { ["environment"] = "dev" } }, stepUp.ApprovalId!)).Reason);

        // Another credential of the same agent cannot use it either.
        var task = await _s.RootTaskAsync(agent, Scenario.Scope(0, "secret:read:*"));
        var (_, other) = await _s.CredentialAsync(agent, task.TaskId);
        Assert.Equal(DecisionReason.ApprovalInvalid, (await _s.Client.AuthorizeAsync(other.Token, "read", Secret(), stepUp.ApprovalId!)).Reason);

        // None of that spoiled it for the exact request.
        Assert.True((await _s.Client.AuthorizeAsync(credential.Token, "read", Secret(), stepUp.ApprovalId!)).IsAllowed);
    }

    [Fact]
    public async Task StepUp_DeniedApprovalDenies()
    {
        var (_, credential) = await SecretReaderAsync();
        var stepUp = await _s.Client.AuthorizeAsync(credential.Token, "read", Secret());

        var denied = await _s.Client.DenyApprovalAsync(stepUp.ApprovalId!, "person:bob@test.dev", "not during the freeze");
        Assert.Equal(ApprovalStatus.Denied, denied.Value.Status);

        var decision = await _s.Client.AuthorizeAsync(credential.Token, "read", Secret(), stepUp.ApprovalId!);
        Assert.Equal(DecisionKind.Deny, decision.Kind);
        Assert.Equal(DecisionReason.ApprovalDenied, decision.Reason);
        Assert.Equal(GrantErrorCode.ApprovalNotPending, (await _s.Client.ApproveAsync(stepUp.ApprovalId!, "person:bob@test.dev")).Error?.Code);
    }

    [Fact]
    public async Task StepUp_TimesOutAsDenyAfterTenMinutes()
    {
        var (_, credential) = await SecretReaderAsync();
        var undecided = await _s.Client.AuthorizeAsync(credential.Token, "read", Secret());
        var unused = await _s.Client.AuthorizeAsync(credential.Token, "read", Secret());
        Assert.NotEqual(undecided.ApprovalId, unused.ApprovalId);
        Assert.True((await _s.Client.ApproveAsync(unused.ApprovalId!, "person:bob@test.dev")).IsSuccess);

        fixture.Time.Advance(TimeSpan.FromMinutes(10));

        Assert.Equal(ApprovalStatus.Expired, (await _s.Client.GetApprovalAsync(undecided.ApprovalId!)).Value.Status);
        Assert.Equal(GrantErrorCode.ApprovalNotPending, (await _s.Client.ApproveAsync(undecided.ApprovalId!, "person:bob@test.dev")).Error?.Code);
        Assert.Equal(DecisionReason.ApprovalExpired, (await _s.Client.AuthorizeAsync(credential.Token, "read", Secret(), undecided.ApprovalId!)).Reason);
        Assert.Equal(DecisionReason.ApprovalExpired, (await _s.Client.AuthorizeAsync(credential.Token, "read", Secret(), unused.ApprovalId!)).Reason);
    }

    [Fact]
    public async Task StepUp_TheAgentCannotApproveItsOwnRequest_AndUnknownApprovalsAreInvalid()
    {
        var (agent, credential) = await SecretReaderAsync();
        var stepUp = await _s.Client.AuthorizeAsync(credential.Token, "read", Secret());
        // An agent is never an approver: it is refused at the door, and nothing is approved.
        Assert.Equal(GrantErrorCode.Forbidden, (await _s.Client.ApproveAsync(stepUp.ApprovalId!, agent)).Error?.Code);
        Assert.Equal(ApprovalStatus.Pending, (await _s.Client.GetApprovalAsync(stepUp.ApprovalId!)).Value.Status);
        Assert.False((await _s.Client.AuthorizeAsync(credential.Token, "read", Secret(), stepUp.ApprovalId!)).IsAllowed);
        // An approver decides only approvals that exist (that it is told nothing about others is the door's
        // rule); a reader with the right to read every approval learns that it does not exist.
        Assert.Equal(GrantErrorCode.Forbidden, (await _s.Client.ApproveAsync("ap-missing", "person:bob@test.dev")).Error?.Code);
        Assert.Equal(GrantErrorCode.ApprovalNotFound, (await _s.Client.GetApprovalAsync("ap-missing")).Error?.Code);
        Assert.Equal(DecisionReason.ApprovalInvalid, (await _s.Client.AuthorizeAsync(credential.Token, "read", Secret(), "ap-missing")).Reason);
    }

    [Fact]
    public async Task StepUp_WithoutObligation_AnApprovalIdIsNotNeededOrConsumed()
    {
        var (_, credential) = await SecretReaderAsync();
        var stepUp = await _s.Client.AuthorizeAsync(credential.Token, "read", Secret());
        var read = await _s.Client.AuthorizeAsync(credential.Token, "read", new ResourceRef { Type = "doc", Path = "a" }, stepUp.ApprovalId!);
        Assert.True(read.IsAllowed, read.Detail);
        Assert.Null(read.ApprovalId);
        Assert.Equal(ApprovalStatus.Pending, (await _s.Client.GetApprovalAsync(stepUp.ApprovalId!)).Value.Status);
    }

    [Fact]
    public async Task StepUp_SubscribedApproverIsNotified()
    {
        var observer = new RecordingObserver();
        await using var subscription = (await _s.Client.SubscribeApprovalsAsync(observer)).Value;
        var (_, credential) = await SecretReaderAsync();

        var stepUp = await _s.Client.AuthorizeAsync(credential.Token, "read", Secret());
        var requested = await observer.Requested.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(stepUp.ApprovalId, requested.ApprovalId);
        Assert.Equal(credential.CredentialId, requested.CredentialId);
        Assert.Equal("secret", requested.Resource.Type);
        Assert.Contains((await _s.Client.ListPendingApprovalsAsync()).Value, a => a.ApprovalId == stepUp.ApprovalId);

        await _s.Client.ApproveAsync(stepUp.ApprovalId!, "person:bob@test.dev");
        var resolved = await observer.Resolved.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(ApprovalStatus.Approved, resolved.Status);
    }

    /// <summary>
    /// The hub calls whatever it is given to subscribe: given a grain's id (or a client observer's id with a hash not its
    /// own) in place of an observer, it would call that grain with every approval, from inside the cluster.
    /// </summary>
    [Fact]
    public async Task Subscribing_AnythingButAClientsObserver_IsRefused()
    {
        var hub = fixture.Cluster.Client.GetGrain<IApprovalHubGrain>(0);
        var observer = fixture.Cluster.Client.CreateObjectReference<IApprovalObserver>(new RecordingObserver());
        var observerId = ((GrainReference)observer).GrainId;
        var notObservers = new[]
        {
            fixture.Cluster.Client.GetGrain<IApprovalObserver>(GrainId.Create("grantsilo.agent", "spiffe://test.dev/anyone")),
            fixture.Cluster.Client.GetGrain<IApprovalObserver>(new GrainId(observerId.Type, IdSpan.UnsafeCreate(observerId.Key.AsSpan().ToArray(), observerId.Key.GetHashCode() ^ 1))),
            fixture.Cluster.Client.GetGrain<IApprovalObserver>(GrainId.Create("sys.client", Guid.NewGuid().ToString("N"))),
        };
        TestIdentity.Attach(TestIdentity.Shared.PersonToken("person:approver@test.dev", "approver"));
        try
        {
            foreach (var notObserver in notObservers)
            {
                Assert.Equal(GrantErrorCode.InvalidArgument, (await hub.SubscribeAsync(notObserver)).Error?.Code);
            }
            var subscribed = await hub.SubscribeAsync(observer);
            Assert.True(subscribed.IsSuccess, subscribed.Error?.ToString());
            await hub.UnsubscribeAsync(observer);
        }
        finally
        {
            RequestContext.Clear();
            fixture.Cluster.Client.DeleteObjectReference<IApprovalObserver>(observer);
        }
    }

    private sealed class RecordingObserver : IApprovalObserver
    {
        private readonly TaskCompletionSource<ApprovalInfo> _requested = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly TaskCompletionSource<ApprovalInfo> _resolved = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public ConcurrentQueue<ApprovalInfo> All { get; } = new();

        public Task<ApprovalInfo> Requested => _requested.Task;

        public Task<ApprovalInfo> Resolved => _resolved.Task;

        public Task OnApprovalRequestedAsync(ApprovalInfo approval)
        {
            All.Enqueue(approval);
            _requested.TrySetResult(approval);
            return Task.CompletedTask;
        }

        public Task OnApprovalResolvedAsync(ApprovalInfo approval)
        {
            All.Enqueue(approval);
            _resolved.TrySetResult(approval);
            return Task.CompletedTask;
        }
    }
}
