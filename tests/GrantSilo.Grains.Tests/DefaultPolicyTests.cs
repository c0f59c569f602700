namespace GrantSilo.Grains.Tests;

/// <summary>The shipped default policy set, as a security team would start from it.</summary>
[Collection(ClusterCollection.Name)]
public class DefaultPolicyTests(ClusterFixture fixture)
{
    private readonly Scenario _s = new(fixture);

    private async Task<IssuedCredential> CredentialAsync(params string[] permissions)
    {
        var scope = GrantSilo.Scope.Create(permissions, DataClassification.Restricted, 0).Value;
        var agent = await _s.AgentAsync("worker", scope);
        var task = await _s.RootTaskAsync(agent, GrantSilo.Scope.Create(permissions, DataClassification.Restricted, 0).Value);
        return (await _s.CredentialAsync(agent, task.TaskId)).Credential;
    }

    [Fact]
    public async Task Default_PlainReadIsAllowed()
    {
        var credential = await CredentialAsync("doc:read:*");
        var decision = await _s.AuthorizeAsync(credential, "read", "doc", "reports/q3");
        Assert.True(decision.IsAllowed, decision.Detail);
        Assert.Equal(["baseline-within-scope"], decision.DeterminingPolicies);
        Assert.NotNull(decision.PolicyVersion);
    }

    [Fact]
    public async Task Default_SecretReadNeedsApproval()
    {
        var credential = await CredentialAsync("secret:read:*");
        var decision = await _s.AuthorizeAsync(credential, "read", "secret", "payments/api-key");
        Assert.Equal(DecisionKind.StepUpRequired, decision.Kind);
        Assert.NotNull(decision.ApprovalId);
        Assert.Contains("secret-read-needs-approval", decision.DeterminingPolicies);
    }

    [Fact]
    public async Task Default_RestrictedExportIsDenied_AndOtherExportsNeedApproval()
    {
        var credential = await CredentialAsync("dataset:export:*");
        var restricted = await _s.AuthorizeAsync(credential, "export", "dataset", "customers", DataClassification.Restricted);
        Assert.Equal(DecisionKind.Deny, restricted.Kind);
        Assert.Equal(DecisionReason.PolicyDenied, restricted.Reason);
        Assert.Equal(["never-export-restricted"], restricted.DeterminingPolicies);

        var internalExport = await _s.AuthorizeAsync(credential, "export", "dataset", "metrics", DataClassification.Internal);
        Assert.Equal(DecisionKind.StepUpRequired, internalExport.Kind);
        Assert.Contains("export-needs-approval", internalExport.DeterminingPolicies);
    }

    [Fact]
    public async Task Default_ProductionWritesNeedApproval_OtherWritesDoNot()
    {
        var credential = await CredentialAsync("service:write:*");
        var production = await _s.Client.AuthorizeAsync(credential.Token, "write", new ResourceRef { Type = "service", Path = "payments/api", Attributes = new Dictionary<string, string> { ["environment"] = "production" } });
        Assert.Equal(DecisionKind.StepUpRequired, production.Kind);
        Assert.Contains("production-write-needs-approval", production.DeterminingPolicies);

        var staging = await _s.Client.AuthorizeAsync(credential.Token, "write", new ResourceRef { Type = "service", Path = "payments/api", Attributes = new Dictionary<string, string> { ["environment"] = "staging" } });
        Assert.True(staging.IsAllowed, staging.Detail);
    }
}
