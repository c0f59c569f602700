using GrantSilo.Grains.Policies;

namespace GrantSilo.Grains.Tests;

[Collection(ClusterCollection.Name)]
public class PolicyStoreTests(ClusterFixture fixture)
{
    private readonly Scenario _s = new(fixture);

    private const string ReadOnly = """
        @id("reads-only")
        permit (principal is Agent, action == Action::"read", resource);
        """;

    [Fact]
    public async Task Publish_InvalidText_IsRefusedWithAPositionedTypedError_AndTheActiveVersionStays()
    {
        var before = (await _s.Client.GetActivePolicyAsync()).Value;

        var invalid = await _s.Client.PublishPolicyAsync("""
            @id("ok")
            permit (principal, action, resource);
            permit (principal, action, resource) when { context.depth < };
            """, "person:security@test.dev");

        Assert.False(invalid.IsSuccess);
        Assert.Equal(GrantErrorCode.PolicyInvalid, invalid.Error.Code);
        Assert.NotNull(invalid.Error.Position);
        Assert.Equal(3, invalid.Error.Position!.Line);
        Assert.True(invalid.Error.Position.Column > 1);
        Assert.False(string.IsNullOrEmpty(invalid.Error.DetailCode));
        Assert.Contains("line 3", invalid.Error.Message, StringComparison.Ordinal);

        var after = (await _s.Client.GetActivePolicyAsync()).Value;
        Assert.Equal(before.Info.Version, after.Info.Version);
        Assert.Equal(before.Text, after.Text);
        Assert.DoesNotContain((await _s.Client.ListPolicyVersionsAsync()).Value, v => v.Version > before.Info.Version);
    }

    [Fact]
    public async Task Publish_RefusesEmptyTextAndBadAuthor()
    {
        var before = (await _s.Client.GetActivePolicyAsync()).Value;
        Assert.Equal(GrantErrorCode.PolicyInvalid, (await _s.Client.PublishPolicyAsync("  ", "person:security@test.dev")).Error?.Code);

        // The author is the caller: a policy author naming someone else is refused.
        var security = fixture.Client.AsPerson("person:security@test.dev", "policy-author");
        Assert.Equal(GrantErrorCode.Forbidden, (await security.PublishPolicyAsync(ReadOnly, "person:someone-else@test.dev")).Error?.Code);

        // A caller whose own (proved) name is malformed is refused as an author, and never recorded.
        Assert.Equal(GrantErrorCode.InvalidIdentifier, (await _s.Client.PublishPolicyAsync(ReadOnly, "person:bad\u202Eauthor")).Error?.Code);

        Assert.Equal(before.Info.Version, (await _s.Client.GetActivePolicyAsync()).Value.Info.Version);
        Assert.DoesNotContain((await _s.Client.ListPolicyVersionsAsync()).Value, v => v.Version > before.Info.Version);
    }

    [Fact]
    public async Task Publish_Valid_DecisionsNameTheNewVersionAndTheDeterminingPolicies()
    {
        var scope = Scenario.Scope(0, "doc:*:*");
        var agent = await _s.AgentAsync("worker", scope);
        var task = await _s.RootTaskAsync(agent, scope);
        var (_, credential) = await _s.CredentialAsync(agent, task.TaskId);

        await using (var published = await PublishedPolicy.PublishAsync(fixture, ReadOnly))
        {
            Assert.True(published.Version.IsActive);
            Assert.Equal(["reads-only"], published.Version.PolicyIds);

            var read = await _s.AuthorizeAsync(credential, "read", "doc", "a");
            Assert.True(read.IsAllowed, read.Detail);
            Assert.Equal(published.Version.Version, read.PolicyVersion);
            Assert.Equal(["reads-only"], read.DeterminingPolicies);

            // Nothing permits a comment: default deny, naming the version.
            var comment = await _s.AuthorizeAsync(credential, "comment", "doc", "a");
            Assert.Equal(DecisionReason.PolicyDenied, comment.Reason);
            Assert.Equal(published.Version.Version, comment.PolicyVersion);
            Assert.Empty(comment.DeterminingPolicies);

            var active = (await _s.Client.GetActivePolicyAsync()).Value;
            Assert.Equal(published.Version.Version, active.Info.Version);
            Assert.Equal(ReadOnly, active.Text);
            var versions = (await _s.Client.ListPolicyVersionsAsync()).Value;
            Assert.Equal(0, versions[0].Version);
            Assert.Equal("system", versions[0].Author);
            Assert.Single(versions, v => v.IsActive);
            Assert.Equal(published.Version.Version, versions.Single(v => v.IsActive).Version);

            // Older versions keep their text.
            var previous = versions[^2];
            var old = await _s.Client.GetPolicyVersionAsync(previous.Version);
            Assert.True(old.IsSuccess, old.Error?.ToString());
            Assert.Equal(previous.Sha256, PolicyText.Sha256(old.Value.Text));
            Assert.Equal(GrantErrorCode.InvalidArgument, (await _s.Client.GetPolicyVersionAsync(published.Version.Version + 1)).Error?.Code);
        }

        // Back on the default set, the comment is allowed again (under a newer version).
        var restored = await _s.AuthorizeAsync(credential, "comment", "doc", "a");
        Assert.True(restored.IsAllowed, restored.Detail);
        Assert.Contains("baseline-within-scope", restored.DeterminingPolicies);
    }

    [Fact]
    public async Task ForbidPolicy_DeniesWithPolicyDenied_NamingThePolicy()
    {
        var scope = Scenario.Scope(0, "doc:*:*");
        var agent = await _s.AgentAsync("worker", scope);
        var task = await _s.RootTaskAsync(agent, scope);
        var (_, credential) = await _s.CredentialAsync(agent, task.TaskId);

        await using var published = await PublishedPolicy.PublishAsync(fixture, """
            @id("all") permit (principal, action, resource);
            @id("no-delete") forbid (principal, action == Action::"delete", resource);
            """);

        var denied = await _s.AuthorizeAsync(credential, "delete", "doc", "a");
        Assert.Equal(DecisionKind.Deny, denied.Kind);
        Assert.Equal(DecisionReason.PolicyDenied, denied.Reason);
        Assert.Equal(["no-delete"], denied.DeterminingPolicies);
        Assert.Equal(published.Version.Version, denied.PolicyVersion);
        Assert.True((await _s.AuthorizeAsync(credential, "read", "doc", "a")).IsAllowed);
    }

    [Fact]
    public async Task ErroringForbid_FailsClosed()
    {
        var scope = Scenario.Scope(0, "doc:*:*");
        var agent = await _s.AgentAsync("worker", scope);
        var task = await _s.RootTaskAsync(agent, scope);
        var (_, credential) = await _s.CredentialAsync(agent, task.TaskId);

        // The sum overflows (an evaluation error the validator cannot see); a forbid that cannot be
        // evaluated must not be skipped.
        await using var published = await PublishedPolicy.PublishAsync(fixture, """
            @id("all") permit (principal, action, resource);
            @id("broken-forbid") forbid (principal, action, resource) when { context.depth + 9223372036854775807 + 1 > 0 };
            """);

        var denied = await _s.AuthorizeAsync(credential, "read", "doc", "a");
        Assert.Equal(DecisionReason.PolicyDenied, denied.Reason);
        Assert.Equal(["broken-forbid"], denied.DeterminingPolicies);
    }

    [Fact]
    public async Task DefaultPolicy_IsVersionZero_WithIdsFromAnnotations()
    {
        var info = DefaultPolicySet.Info(isActive: false);
        Assert.Equal(0, info.Version);
        Assert.Contains("baseline-within-scope", info.PolicyIds);
        Assert.Contains("never-export-restricted", info.PolicyIds);
        Assert.Contains("secret-read-needs-approval", info.PolicyIds);
        var versions = (await _s.Client.ListPolicyVersionsAsync()).Value;
        Assert.Equal(info.Sha256, versions[0].Sha256);
    }
}
