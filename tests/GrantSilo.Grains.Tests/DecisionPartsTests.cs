using GrantSilo.Grains.Decisions;
using GrantSilo.Grains.Policies;

namespace GrantSilo.Grains.Tests;

/// <summary>The parts of a decision that need no cluster: the request check and the scope's policy check.</summary>
public sealed class DecisionPartsTests
{
    private static readonly Scope Scope = GrantSilo.Scope.Create(["doc:read:reports/*", "doc:write:drafts/*"], DataClassification.Confidential, 1).Value;

    [Fact]
    public void RequestCheck_PassesAWellFormedRequestWithinScope_WithItsCanonicalResource()
    {
        var verdict = RequestCheck.Check(Scope, "read", new ResourceRef { Type = "doc", Path = "reports/q3.pdf", Classification = DataClassification.Internal }, approvalId: null, CatalogTestSupport.Permissive);

        Assert.Null(verdict.Refusal);
        Assert.Equal("reports/q3.pdf", verdict.Resource.Path);
    }

    [Theory]
    [InlineData("read", "doc", "reports/q3.pdf", DataClassification.Restricted, null, DecisionReason.ClassificationExceeded)]
    [InlineData("delete", "doc", "reports/q3.pdf", DataClassification.Internal, null, DecisionReason.ScopeDoesNotCover)]
    [InlineData("read", "doc", "drafts/q3.pdf", DataClassification.Internal, null, DecisionReason.ScopeDoesNotCover)]
    [InlineData("read", "doc", "reports/../secrets", DataClassification.Internal, null, DecisionReason.InvalidRequest)]
    [InlineData("read", "doc", "reports/%2e%2e/secrets", DataClassification.Internal, null, DecisionReason.InvalidRequest)]
    [InlineData("re ad", "doc", "reports/q3.pdf", DataClassification.Internal, null, DecisionReason.InvalidRequest)]
    [InlineData("*", "doc", "reports/q3.pdf", DataClassification.Internal, null, DecisionReason.InvalidRequest)]
    [InlineData("read", "doc", "reports/q3.pdf", DataClassification.Internal, "", DecisionReason.ApprovalInvalid)]
    public void RequestCheck_RefusesWithTheReasonThatApplies(string action, string type, string path, DataClassification classification, string? approvalId, DecisionReason expected)
    {
        var verdict = RequestCheck.Check(Scope, action, new ResourceRef { Type = type, Path = path, Classification = classification }, approvalId, CatalogTestSupport.Permissive);

        Assert.Equal(expected, verdict.Refusal);
        Assert.False(string.IsNullOrEmpty(verdict.Detail));
    }

    [Fact]
    public void RequestCheck_RefusesAMissingResource()
    {
        Assert.Equal(DecisionReason.InvalidRequest, RequestCheck.Check(Scope, "read", null, null, CatalogTestSupport.Permissive).Refusal);
    }

    [Fact]
    public async Task ScopePolicyCheck_TriesEachPermissionFromTheHighestClassificationDown_AndPassesWhenOneIsPermitted()
    {
        // The policy permits reads only up to Internal, and writes at any classification.
        var policy = new RecordingPolicy(f => f.Action == "write" || f.Resource.Classification <= DataClassification.Internal);

        var result = await new ScopePolicyCheck(policy).CheckAsync(Subject(), DateTimeOffset.UnixEpoch, CancellationToken.None);

        Assert.True(result.IsSuccess);
        Assert.Equal(7, result.Value);
        var reads = policy.Asked.Where(f => f.Action == "read").Select(f => f.Resource.Classification).ToArray();
        Assert.Equal([DataClassification.Confidential, DataClassification.Internal], reads);
        Assert.All(policy.Asked, f => Assert.Equal("t-1", f.TaskId));
    }

    [Fact]
    public async Task ScopePolicyCheck_NamesTheFirstPermissionNoLongerPermittedAtAll()
    {
        var policy = new RecordingPolicy(f => f.Action == "read");

        var result = await new ScopePolicyCheck(policy).CheckAsync(Subject(), DateTimeOffset.UnixEpoch, CancellationToken.None);

        Assert.Equal(GrantErrorCode.PolicyForbidsScope, result.Error?.Code);
        Assert.Equal("doc:write:drafts/*", result.Error?.Permission);
        Assert.Contains("version 7", result.Error?.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ScopePolicyCheck_IsUnavailable_WhenThePolicyCannotBeConfirmed()
    {
        var policy = new RecordingPolicy(_ => true) { Unavailable = true };

        var result = await new ScopePolicyCheck(policy).CheckAsync(Subject(), DateTimeOffset.UnixEpoch, CancellationToken.None);

        Assert.Equal(GrantErrorCode.Unavailable, result.Error?.Code);
        Assert.Single(policy.Asked);
    }

    private static ScopeSubject Subject() => new(
        "t-1",
        "t-1",
        new AgentInfo { WorkloadId = "spiffe://test.dev/a/worker", Owner = "person:owner@test.dev", Ceiling = Scope },
        Scope,
        Depth: 0,
        RootPerson: "person:alice@test.dev",
        RootTaskId: "t-1");

    private sealed class RecordingPolicy(Func<AccessFacts, bool> allows) : IAccessPolicy
    {
        public List<AccessFacts> Asked { get; } = [];

        public bool Unavailable { get; init; }

        public ValueTask<PolicyVerdict> EvaluateAsync(AccessFacts facts, CancellationToken cancellationToken)
        {
            Asked.Add(facts);
            return ValueTask.FromResult(Unavailable
                ? new PolicyVerdict(false, "no confirmed policy") { Unavailable = true }
                : new PolicyVerdict(allows(facts), allows(facts) ? null : "forbidden by a test policy") { PolicyVersion = 7 });
        }
    }
}
