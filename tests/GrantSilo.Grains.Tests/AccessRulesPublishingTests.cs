using GrantSilo.GrainInterfaces;
using GrantSilo.Grains.Access;
using GrantSilo.Grains.Hosting;
using GrantSilo.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace GrantSilo.Grains.Tests;

/// <summary>A cluster of its own for publishing the access rules (each test restores the shipped rules at its end).</summary>
public sealed class AccessRulesClusterFixture : GrantSiloClusterFixture
{
    protected override void ConfigureSilo(ISiloBuilder silo)
    {
        silo.AddMemoryGrainStorage(GrantSiloStorage.Name);
        silo.UseInMemoryReminderService();
        silo.Services.AddKeyedSingleton<TimeProvider>(GrantSiloTime.ServiceKey, Time);
        silo.AddGrantSilo();
    }
}

/// <summary>The texts the publishing tests use: the shipped rules, tightened.</summary>
internal static class TightenedRules
{
    private const string GatewayActions = "Access::Action::\"credential.read\", Access::Action::\"catalog.read\"], resource)\nwhen { principal.roles.contains(\"gateway\") };";

    /// <summary>The shipped rules without the gateways' right to read the resource catalog.</summary>
    public static string WithoutGatewayCatalogRead => Without(GatewayActions, GatewayActions.Replace(", Access::Action::\"catalog.read\"]", "]", StringComparison.Ordinal));

    /// <summary>The shipped rules under which operators can no longer publish the access rules.</summary>
    public static string WithoutOperatorsPublishing => Without(", Access::Action::\"access.publish\", ", ", ");

    private static string Without(string what, string replacement)
    {
        Assert.Contains(what, AccessRules.Text);
        return AccessRules.Text.Replace(what, replacement, StringComparison.Ordinal);
    }
}

/// <summary>The access rules as a versioned, published policy set: an operator tightens them without a restart.</summary>
public sealed class AccessRulesPublishingTests(AccessRulesClusterFixture fixture) : IClassFixture<AccessRulesClusterFixture>
{
    private const string Operator = "person:rules-operator@acme.dev";

    private static void AssertUnchanged(AccessRulesVersion before, AccessRulesVersion after)
    {
        Assert.Equal(before.Info.Version, after.Info.Version);
        Assert.Equal(before.Info.Sha256, after.Info.Sha256);
        Assert.Equal(before.Text, after.Text);
    }

    private async Task RestoreShippedRulesAsync()
    {
        var restored = await fixture.Client.PublishAccessRulesAsync(AccessRules.Text, Operator);
        Assert.True(restored.IsSuccess, restored.Error?.ToString());
    }

    [Fact]
    public async Task AnOperator_TightensTheRules_AndTheNextCallIsRefused_WithoutARestart()
    {
        var gateway = fixture.Client.AsService("service:gateway-rules", "gateway");
        // Allowed (and remembered for this caller) under the shipped rules.
        Assert.True((await gateway.GetActiveResourceCatalogAsync()).IsSuccess);
        Assert.True((await gateway.GetActiveResourceCatalogAsync()).IsSuccess);
        try
        {
            var published = await fixture.Client.PublishAccessRulesAsync(TightenedRules.WithoutGatewayCatalogRead, Operator);
            Assert.True(published.IsSuccess, published.Error?.ToString());
            Assert.True(published.Value.Version > 0);
            Assert.Equal(Operator, published.Value.Author);
            Assert.Equal(AccessRules.HashOf(TightenedRules.WithoutGatewayCatalogRead), published.Value.Sha256);

            var refused = await gateway.GetActiveResourceCatalogAsync();
            Assert.False(refused.IsSuccess);
            Assert.Equal(GrantErrorCode.Forbidden, refused.Error!.Code);
            Assert.Contains(CallerOperations.CatalogRead, refused.Error.Message);
            // Only what the new rules took away: an operator still reads the catalog.
            Assert.True((await fixture.Client.AsPerson("person:reader@acme.dev", "operator").GetActiveResourceCatalogAsync()).IsSuccess);

            var active = await fixture.Client.GetActiveAccessRulesAsync();
            Assert.True(active.IsSuccess, active.Error?.ToString());
            Assert.Equal(published.Value.Version, active.Value.Info.Version);
            Assert.True(active.Value.Info.IsActive);
            Assert.Equal(TightenedRules.WithoutGatewayCatalogRead, active.Value.Text);

            var versions = (await fixture.Client.ListAccessRulesVersionsAsync()).Value;
            Assert.Equal(0, versions[0].Version);
            Assert.Equal("system", versions[0].Author);
            Assert.Contains(versions, v => v.Version == published.Value.Version && v.IsActive);
            Assert.Single(versions, v => v.IsActive);
        }
        finally
        {
            await RestoreShippedRulesAsync();
        }
        Assert.True((await gateway.GetActiveResourceCatalogAsync()).IsSuccess);
        Assert.Equal(AccessRules.Text, (await fixture.Client.GetActiveAccessRulesAsync()).Value.Text);
    }

    [Theory]
    [InlineData("permit (principal is Access::Caller, action, resource) when { principal.nickname == \"x\" };", "nickname")]
    [InlineData("permit (principal, action", "not valid")]
    [InlineData("  ", "empty")]
    public async Task InvalidRules_AreRefused_NamingTheError_AndNothingChanges(string text, string named)
    {
        var before = (await fixture.Client.GetActiveAccessRulesAsync()).Value;
        var versionsBefore = (await fixture.Client.ListAccessRulesVersionsAsync()).Value;

        var refused = await fixture.Client.PublishAccessRulesAsync(text, Operator);

        Assert.False(refused.IsSuccess);
        Assert.Equal(GrantErrorCode.PolicyInvalid, refused.Error!.Code);
        Assert.Contains(named, refused.Error.Message, StringComparison.OrdinalIgnoreCase);
        AssertUnchanged(before, (await fixture.Client.GetActiveAccessRulesAsync()).Value);
        Assert.Equal(versionsBefore.Select(v => (v.Version, v.Sha256, v.IsActive)), (await fixture.Client.ListAccessRulesVersionsAsync()).Value.Select(v => (v.Version, v.Sha256, v.IsActive)));
    }

    [Theory]
    [InlineData("policy-author")]
    [InlineData("auditor")]
    [InlineData("gateway")]
    public async Task ANonOperator_PublishingTheRules_IsForbidden(string role)
    {
        var before = (await fixture.Client.GetActiveAccessRulesAsync()).Value;
        var name = $"person:{role}@acme.dev";

        var refused = await fixture.Client.AsPerson(name, role).PublishAccessRulesAsync(AccessRules.Text, name);

        Assert.False(refused.IsSuccess);
        Assert.Equal(GrantErrorCode.Forbidden, refused.Error!.Code);
        Assert.Contains(CallerOperations.AccessPublish, refused.Error.Message);
        AssertUnchanged(before, (await fixture.Client.GetActiveAccessRulesAsync()).Value);
    }

    [Theory]
    [InlineData("operator")]
    [InlineData("auditor")]
    [InlineData("policy-author")]
    public async Task OperatorsAuditorsAndPolicyAuthors_ReadTheRules(string role)
    {
        var reader = fixture.Client.AsPerson($"person:{role}-reader@acme.dev", role);
        Assert.True((await reader.GetActiveAccessRulesAsync()).IsSuccess);
        Assert.True((await reader.ListAccessRulesVersionsAsync()).IsSuccess);
        var orchestrator = await fixture.Client.AsService("service:orchestrator-rules", "orchestrator").GetActiveAccessRulesAsync();
        Assert.Equal(GrantErrorCode.Forbidden, orchestrator.Error?.Code);
    }

    [Fact]
    public async Task RulesThatWouldLockThePublisherOut_AreRefused()
    {
        var before = (await fixture.Client.GetActiveAccessRulesAsync()).Value;

        var refused = await fixture.Client.PublishAccessRulesAsync(TightenedRules.WithoutOperatorsPublishing, Operator);

        Assert.False(refused.IsSuccess);
        Assert.Equal(GrantErrorCode.PolicyInvalid, refused.Error!.Code);
        Assert.Contains("lock", refused.Error.Message, StringComparison.Ordinal);
        Assert.Contains(CallerOperations.AccessPublish, refused.Error.Message, StringComparison.Ordinal);
        AssertUnchanged(before, (await fixture.Client.GetActiveAccessRulesAsync()).Value);
        // The operator can still publish.
        Assert.True((await fixture.Client.PublishAccessRulesAsync(AccessRules.Text, Operator)).IsSuccess);
    }

    [Fact]
    public async Task EveryVersion_IsReadBack_WithItsText()
    {
        try
        {
            var published = (await fixture.Client.PublishAccessRulesAsync(TightenedRules.WithoutGatewayCatalogRead, Operator)).Value;
            var restored = (await fixture.Client.PublishAccessRulesAsync(AccessRules.Text, Operator)).Value;
            var versions = (await fixture.Client.ListAccessRulesVersionsAsync()).Value;
            Assert.Equal(restored.Version, versions[^1].Version);
            Assert.True(versions[^1].IsActive);
            Assert.Equal(published.Version, versions[^2].Version);
            Assert.False(versions[^2].IsActive);
            Assert.Equal(restored.Version, (await fixture.Client.Harness.GetActiveAccessRulesAsync()).Value.Info.Version);
        }
        finally
        {
            await RestoreShippedRulesAsync();
        }
    }
}

/// <summary>On two silos: a publish returns once both silos' doors decide with the new rules.</summary>
public sealed class MultiSiloAccessRulesTests(TwoSiloFixture fixture) : IClassFixture<TwoSiloFixture>
{
    private const string Operator = "person:rules-operator@acme.dev";

    [Fact]
    public async Task Publish_IsInForceOnEverySilo_BeforeItReturns()
    {
        var gateway = fixture.Client.AsService("service:gateway-two-silos", "gateway");
        Assert.True((await gateway.GetActiveResourceCatalogAsync()).IsSuccess);
        try
        {
            var published = await fixture.Client.PublishAccessRulesAsync(TightenedRules.WithoutGatewayCatalogRead, Operator).WaitAsync(TimeSpan.FromSeconds(60));
            Assert.True(published.IsSuccess, published.Error?.ToString());

            Assert.Equal(2, fixture.Engines().Count());
            var caller = new Identity.Caller { Issuer = "test", Subject = "gateway-two-silos", Kind = Identity.CallerKind.Service, Name = "service:gateway-two-silos", Roles = new HashSet<string> { "gateway" }, ExpiresAt = DateTimeOffset.MaxValue };
            Assert.All(fixture.Engines(), engine =>
            {
                Assert.Equal(published.Value.Version, engine.CurrentAccessRules?.Version);
                Assert.False(engine.CurrentAccessRules!.Rules.Decide(caller, CallerOperations.CatalogRead, () => new TargetFacts { Kind = "", Id = "" }).Allowed);
            });
            Assert.Equal(GrantErrorCode.Forbidden, (await gateway.GetActiveResourceCatalogAsync()).Error?.Code);
        }
        finally
        {
            Assert.True((await fixture.Client.PublishAccessRulesAsync(AccessRules.Text, Operator).WaitAsync(TimeSpan.FromSeconds(60))).IsSuccess);
        }
        Assert.All(fixture.Engines(), engine => Assert.Equal(AccessRules.HashOf(AccessRules.Text), engine.CurrentAccessRules?.Info.Sha256));
        Assert.True((await gateway.GetActiveResourceCatalogAsync()).IsSuccess);
    }
}
