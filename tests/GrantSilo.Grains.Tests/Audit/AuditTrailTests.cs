using System.Text;
using GrantSilo.Client;
using GrantSilo.GrainInterfaces;
using GrantSilo.Grains.Audit;

namespace GrantSilo.Grains.Tests.Audit;

/// <summary>
/// What a silo records: every decision with its whole lineage and a decision id returned to the caller, every lifecycle
/// event exactly once with its cause, queries through the SDK, and failing closed when the store is down.
/// </summary>
[Collection(ClusterCollection.Name)]
public class AuditTrailTests(ClusterFixture fixture)
{
    private static readonly TimeSpan Guard = TimeSpan.FromSeconds(30);
    private readonly Scenario _s = new(fixture);

    private sealed record Tree(string Planner, string Worker, TaskInfo Root, string PlannerSession, IssuedCredential Proof, TaskInfo Child, string WorkerSession, IssuedCredential Credential);

    private async Task<Tree> TreeAsync()
    {
        var ceiling = Scenario.Scope(1, "doc:read:*");
        var planner = await _s.AgentAsync("planner", ceiling);
        var worker = await _s.AgentAsync("worker", Scenario.Scope(0, "doc:read:*"));
        var root = await _s.RootTaskAsync(planner, ceiling);
        var (plannerSession, proof) = await _s.CredentialAsync(planner, root.TaskId);
        var child = (await _s.DelegateAsync(root.TaskId, proof.Token, worker, Scenario.Scope(0, "doc:read:*"))).Value;
        var (workerSession, credential) = await _s.CredentialAsync(worker, child.TaskId);
        return new Tree(planner, worker, root, plannerSession, proof, child, workerSession, credential);
    }

    private static byte[] Secret(IssuedCredential credential)
    {
        Assert.True(CredentialToken.TryParse(credential.Token, out _, out var secret));
        return secret;
    }

    private IReadOnlyList<AuditRecord> RecordsOf(Tree tree) =>
        [.. fixture.AuditedRecords().Where(r => r.Agent == tree.Planner || r.Agent == tree.Worker || r.TaskChain.Contains(tree.Root.TaskId))];

    [Fact]
    public async Task Decision_RecordCarriesTheWholeLineage_AndItsIdIsReturned_NeverTheTokenOrThePurpose()
    {
        var tree = await TreeAsync();
        var decision = await _s.AuthorizeAsync(tree.Credential, "read", "doc", "reports/q3");
        Assert.True(decision.IsAllowed, decision.Detail);
        Assert.NotNull(decision.DecisionId);

        var record = Assert.Single(fixture.AuditedDecisions(), r => r.Id == decision.DecisionId);
        Assert.Equal("person:alice@test.dev", record.RootPerson);
        Assert.Equal(tree.Root.Orchestrator, record.Orchestrator);
        Assert.Equal([tree.Root.TaskId, tree.Child.TaskId], record.TaskChain);
        Assert.Equal(tree.Child.TaskId, record.TaskId);
        Assert.Equal(tree.Worker, record.Agent);
        Assert.Equal(tree.WorkerSession, record.SessionId);
        Assert.Equal(tree.Credential.CredentialId, record.CredentialId);
        Assert.Equal(fixture.AuditKeys.TokenHash(Secret(tree.Credential)), record.TokenHash);
        Assert.Equal(TestIdentity.HarnessName, record.CallerName);
        Assert.False(string.IsNullOrEmpty(record.CallerIssuer));
        Assert.False(string.IsNullOrEmpty(record.CallerSubject));
        Assert.Equal("read", record.Action);
        Assert.Equal(("doc", "reports/q3"), (record.ResourceType, record.ResourcePath));
        Assert.Equal((DecisionKind.Allow, DecisionReason.Allowed), (record.Decision, record.Reason));
        Assert.Equal(decision.PolicyVersion, record.PolicyVersion);
        Assert.Equal(decision.DeterminingPolicies, record.DeterminingPolicies);
        Assert.Equal(decision.DecidedAt, record.At);
        Assert.False(string.IsNullOrEmpty(record.Silo));

        var stored = AuditChain.Serialize(record);
        Assert.DoesNotContain(Convert.ToBase64String(Secret(tree.Credential)), stored, StringComparison.Ordinal);
        Assert.DoesNotContain(tree.Credential.Token, stored, StringComparison.Ordinal);
        Assert.DoesNotContain("test task", stored, StringComparison.Ordinal);
        Assert.DoesNotContain("delegated", string.Concat(RecordsOf(tree).Select(r => r.Detail + r.Cause)), StringComparison.Ordinal);

        // A deny is recorded too, with its reason, under the id returned with it.
        var denied = await _s.AuthorizeAsync(tree.Credential, "write", "doc", "reports/q3");
        var deniedRecord = Assert.Single(fixture.AuditedDecisions(), r => r.Id == denied.DecisionId);
        Assert.Equal((DecisionKind.Deny, DecisionReason.ScopeDoesNotCover), (deniedRecord.Decision, deniedRecord.Reason));
    }

    [Fact]
    public async Task EveryLifecyclePath_LeavesExactlyItsRecords_AndAWholeTreeRevokedKeepsEachNodesHistoryWithItsCause()
    {
        var tree = await TreeAsync();
        await _s.AuthorizeAsync(tree.Credential, "read", "doc", "a");
        await _s.AuthorizeAsync(tree.Credential, "read", "doc", "b");

        var revoked = await _s.Client.RevokeTaskAsync(tree.Root.TaskId, "incident 42");
        Assert.True(revoked.IsSuccess, revoked.Error?.ToString());
        await _s.TreeWhenAsync(tree.Root.TaskId, t => t.Status == GrantTaskStatus.Revoked && t.PendingCascade == 0);
        await Eventually.ReturnsAsync(() => Task.FromResult(RecordsOf(tree).Count(r => r.Kind == AuditEventKind.CredentialRevoked)), n => n == 2, Eventually.InProcess, "both credentials' revocations recorded");

        var records = RecordsOf(tree);
        int Count(AuditEventKind kind) => records.Count(r => r.Kind == kind);
        Assert.Equal(2, Count(AuditEventKind.AgentRegistered));
        Assert.Equal(1, Count(AuditEventKind.TaskCreated));
        Assert.Equal(1, Count(AuditEventKind.TaskDelegated));
        Assert.Equal(2, Count(AuditEventKind.SessionOpened));
        Assert.Equal(2, Count(AuditEventKind.CredentialIssued));
        Assert.Equal(2, Count(AuditEventKind.Decision));
        Assert.Equal(2, Count(AuditEventKind.TaskRevoked));
        Assert.Equal(2, Count(AuditEventKind.CredentialRevoked));
        Assert.Equal(1, Count(AuditEventKind.TaskDelegated));

        var rootRevoked = Assert.Single(records, r => r.Kind == AuditEventKind.TaskRevoked && r.TaskId == tree.Root.TaskId);
        Assert.Equal("incident 42", rootRevoked.Cause);
        Assert.NotNull(rootRevoked.CallerName);
        var childRevoked = Assert.Single(records, r => r.Kind == AuditEventKind.TaskRevoked && r.TaskId == tree.Child.TaskId);
        Assert.Equal(tree.Root.TaskId, childRevoked.CauseId);
        Assert.Contains("incident 42", childRevoked.Cause, StringComparison.Ordinal);
        Assert.Equal([tree.Root.TaskId, tree.Child.TaskId], childRevoked.TaskChain);
        var credentialRevoked = Assert.Single(records, r => r.Kind == AuditEventKind.CredentialRevoked && r.CredentialId == tree.Credential.CredentialId);
        Assert.Equal(tree.Child.TaskId, credentialRevoked.CauseId);

        // The whole tree's history, by the root: every node, each with its cause, after every grant has ended.
        var history = await _s.Client.QueryAuditAsync(new AuditQuery { TaskId = tree.Root.TaskId });
        Assert.True(history.IsSuccess, history.Error?.ToString());
        var kinds = history.Value.Items.Select(e => (e.Record.Kind, e.Record.TaskId)).ToList();
        Assert.Contains((AuditEventKind.TaskRevoked, tree.Root.TaskId), kinds);
        Assert.Contains((AuditEventKind.TaskRevoked, tree.Child.TaskId), kinds);
        Assert.Contains((AuditEventKind.TaskDelegated, tree.Child.TaskId), kinds);
        Assert.Equal(2, history.Value.Items.Count(e => e.Record.Kind == AuditEventKind.Decision));
        Assert.Equal(2, history.Value.Items.Count(e => e.Record.Kind == AuditEventKind.CredentialRevoked));
    }

    [Fact]
    public async Task Queries_FindByTokenAgentResourcePersonAndDecisionId_Paged_AndTheLineageShowsEverythingADecisionRestedOn()
    {
        var tree = await TreeAsync();
        var first = await _s.AuthorizeAsync(tree.Credential, "read", "doc", "lineage/one");
        await _s.AuthorizeAsync(tree.Credential, "read", "doc", "lineage/two");
        await _s.AuthorizeAsync(tree.Proof, "read", "doc", "lineage/three");

        var byToken = await _s.Client.QueryAuditAsync(new AuditQuery { Token = tree.Credential.Token });
        Assert.Equal(["lineage/one", "lineage/two"], byToken.Value.Items.Select(e => e.Record.ResourcePath));
        var byResource = await _s.Client.QueryAuditAsync(new AuditQuery { Resource = "lineage/*", Agent = tree.Planner });
        Assert.Equal(["lineage/three"], byResource.Value.Items.Select(e => e.Record.ResourcePath));
        var byId = await _s.Client.QueryAuditAsync(new AuditQuery { DecisionId = first.DecisionId });
        Assert.Equal(first.DecisionId, Assert.Single(byId.Value.Items).Record.Id);

        // Paged: one at a time, every record once.
        var seen = new List<string>();
        string? next = null;
        do
        {
            var page = await _s.Client.QueryAuditAsync(new AuditQuery { CredentialId = tree.Credential.CredentialId, PageSize = 1, ContinuationToken = next });
            Assert.True(page.Value.Items.Count <= 1);
            seen.AddRange(page.Value.Items.Select(e => e.Record.Id));
            next = page.Value.Items.Count == 0 ? null : page.Value.ContinuationToken;
        }
        while (next is not null);
        Assert.Equal(seen.Distinct().Count(), seen.Count);
        // Its issue and its two decisions.
        Assert.Equal(3, seen.Count);
        var window = await _s.Client.QueryAuditAsync(new AuditQuery { CredentialId = tree.Credential.CredentialId, From = fixture.Time.GetUtcNow().AddSeconds(1) });
        Assert.Empty(window.Value.Items);

        var lineage = await _s.Client.GetAuditLineageAsync(first.DecisionId!);
        Assert.True(lineage.IsSuccess, lineage.Error?.ToString());
        var related = lineage.Value.Related.Select(e => e.Record.Kind).ToList();
        Assert.Contains(AuditEventKind.TaskCreated, related);
        Assert.Contains(AuditEventKind.TaskDelegated, related);
        Assert.Contains(AuditEventKind.SessionOpened, related);
        Assert.Contains(AuditEventKind.CredentialIssued, related);
        Assert.Contains(AuditEventKind.AgentRegistered, related);
        Assert.Equal(GrantErrorCode.AuditRecordNotFound, (await _s.Client.GetAuditLineageAsync("nope")).Error?.Code);
        Assert.Equal(GrantErrorCode.InvalidArgument, (await _s.Client.QueryAuditAsync(new AuditQuery { Token = "not-a-token" })).Error?.Code);
        Assert.True((await _s.Client.VerifyAuditAsync()).Value.Intact);
    }

    [Fact]
    public async Task TheSdk_ExportsStoredLinesAnOutsiderCanCheck_AndFollowsNewRecordsFromWhereItLeftOff()
    {
        var tree = await TreeAsync();
        var first = await _s.AuthorizeAsync(tree.Credential, "read", "doc", "export/one");
        var query = new AuditQuery { CredentialId = tree.Credential.CredentialId };

        using var export = new MemoryStream();
        var written = await _s.Client.ExportAuditAsync(query, export);
        var text = Encoding.UTF8.GetString(export.ToArray());
        var lines = text.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => AuditLine.TryParse(Encoding.UTF8.GetBytes(l))).ToList();
        // Its issue and its decision, each a whole stored line whose hash an outsider can recompute.
        Assert.Equal(2, written);
        Assert.Equal(written, lines.Count);
        Assert.All(lines, l => Assert.Equal(AuditChain.Hash(l!.PreviousHash, l.Body), l.Hash));
        Assert.Equal([AuditEventKind.CredentialIssued, AuditEventKind.Decision], lines.Select(l => l!.TryReadRecord()!.Kind));
        Assert.Equal(first.DecisionId, lines[1]!.TryReadRecord()!.Id);
        Assert.DoesNotContain(Convert.ToBase64String(Secret(tree.Credential)), text, StringComparison.Ordinal);
        Assert.DoesNotContain(tree.Credential.Token, text, StringComparison.Ordinal);

        // Follow from where the log ends now: the next decision, and nothing before it.
        var end = await _s.Client.AuditEndAsync(query);
        Assert.NotNull(end);
        using var stop = new CancellationTokenSource(Guard);
        await using var follow = _s.Client.FollowAuditAsync(query with { ContinuationToken = end }, TimeSpan.FromMilliseconds(20), cancellationToken: stop.Token)
            .GetAsyncEnumerator(stop.Token);
        var next = follow.MoveNextAsync().AsTask();
        var later = await _s.AuthorizeAsync(tree.Credential, "read", "doc", "export/two");
        Assert.True(await next.WaitAsync(Guard));
        Assert.Equal(later.DecisionId, follow.Current.Entry.Record.Id);

        // A refused reader gets the typed error, from the export and the follower alike.
        var nosy = fixture.Client.AsAgent("spiffe://test.dev/nosy-exporter");
        var refused = await Assert.ThrowsAsync<GrantException>(async () => await nosy.ExportAuditAsync(query, Stream.Null));
        Assert.Equal(GrantErrorCode.Forbidden, refused.Error.Code);
        await using var nosyFollow = nosy.FollowAuditAsync(query).GetAsyncEnumerator(stop.Token);
        Assert.Equal(GrantErrorCode.Forbidden, (await Assert.ThrowsAsync<GrantException>(async () => await nosyFollow.MoveNextAsync())).Error.Code);
    }

    [Fact]
    public async Task ReadingTheAuditLog_NeedsTheOperatorOrAuditorRole_AndARefusedCallerIsRecorded()
    {
        var agentClient = fixture.Client.AsAgent("spiffe://test.dev/nosy");
        var refused = await agentClient.QueryAuditAsync(new AuditQuery());
        Assert.Equal(GrantErrorCode.Forbidden, refused.Error?.Code);
        Assert.Equal(GrantErrorCode.Unauthenticated, (await fixture.Client.Anonymous.VerifyAuditAsync()).Error?.Code);
        Assert.True((await fixture.Client.AsPerson("person:ada@test.dev", "auditor").VerifyAuditAsync()).IsSuccess);

        var record = await Eventually.ReturnsAsync(
            () => Task.FromResult(fixture.AuditedRecords().LastOrDefault(r => r.Kind == AuditEventKind.CallerRefused && r.CallerName == "spiffe://test.dev/nosy")),
            r => r is not null, Eventually.InProcess, "the refusal recorded");
        Assert.Equal((CallerOperations.AuditRead, DecisionReason.CallerForbidden), (record!.Action, record.Reason));
    }

    [Fact]
    public async Task StoreDown_DeniesWithinTheBound_NoAllowWithoutARecord_AndRecoversByItself()
    {
        var tree = await TreeAsync();
        var store = fixture.AuditStore;
        var attempted = store.NextAppendAsync();
        store.FailWith = new IOException("audit disk gone");
        Decision denied;
        try
        {
            var pending = _s.AuthorizeAsync(tree.Credential, "read", "doc", "down/1");
            await attempted.WaitAsync(Guard);
            fixture.Time.Advance(TimeSpan.FromSeconds(1));
            denied = await pending.WaitAsync(Guard);
        }
        finally
        {
            store.FailWith = null;
        }
        Assert.Equal((DecisionKind.Deny, DecisionReason.AuditUnavailable), (denied.Kind, denied.Reason));
        Assert.NotNull(denied.DecisionId);

        // The writer retries on its own (on the decision clock); once it has written, decisions are allowed again.
        await Eventually.HoldsAsync(async () =>
        {
            fixture.Time.Advance(TimeSpan.FromMilliseconds(200));
            await Task.Yield();
            return fixture.AuditJournal.Healthy;
        }, TimeSpan.FromSeconds(30), "the audit writer back");
        Assert.True(fixture.AuditJournal.Healthy);
        var after = await _s.AuthorizeAsync(tree.Credential, "read", "doc", "down/2");
        Assert.True(after.IsAllowed, after.Detail);

        var records = fixture.AuditedRecords();
        Assert.Single(records, r => r.Id == after.DecisionId && r.Decision == DecisionKind.Allow);
        // The denied decision's record says the caller was denied: as that deny, or as the allow it was and its withdrawal.
        var written = Assert.Single(records, r => r.Id == denied.DecisionId);
        Assert.True(written.Reason == DecisionReason.AuditUnavailable
            || records.Any(r => r.Kind == AuditEventKind.DecisionWithdrawn && r.CauseId == denied.DecisionId), written.ToString());
    }
}
