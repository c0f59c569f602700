using GrantSilo.Grains.Catalog;
using GrantSilo.Grains.Decisions;
using GrantSilo.GrainInterfaces;
using GrantSilo.Grains.Hosting;
using GrantSilo.Testing;
using Microsoft.Extensions.DependencyInjection;
using Orleans.TestingHost;

namespace GrantSilo.Grains.Tests;

/// <summary>One silo that starts on the shipped, empty catalog (no permissive test catalog), for the catalog's own tests.</summary>
public sealed class CatalogClusterFixture : GrantSiloClusterFixture
{
    protected override bool PublishesPermissiveCatalog => false;

    protected override void ConfigureSilo(ISiloBuilder silo)
    {
        silo.AddMemoryGrainStorage(GrantSiloStorage.Name);
        silo.UseInMemoryReminderService();
        silo.Services.AddKeyedSingleton<TimeProvider>(GrantSiloTime.ServiceKey, Time);
        silo.AddGrantSilo();
    }
}

[CollectionDefinition(Name)]
public sealed class CatalogClusterCollection : ICollectionFixture<CatalogClusterFixture>
{
    public const string Name = "catalog-cluster";
}

/// <summary>The catalog document: parsing, typed refusals naming the entry, and the most-specific match.</summary>
public sealed class ResourceCatalogDocumentTests
{
    [Theory]
    [InlineData("""{ "entries": [ { "type": "repo", "path": "a/*", "classification": "secret" } ] }""", ResourceCatalogProblem.InvalidClassification, "entries[0]")]
    [InlineData("""{ "entries": [ { "type": "repo", "path": "a/*", "classification": "3" } ] }""", ResourceCatalogProblem.InvalidClassification, "entries[0]")]
    [InlineData("""{ "entries": [ { "type": "repo", "path": "a/*", "classification": "public" }, { "type": "repo", "path": "a/*", "classification": "internal" } ] }""", ResourceCatalogProblem.DuplicatePattern, "entries[1]")]
    [InlineData("""{ "entries": [ { "type": "repo", "path": "a/../b", "classification": "public" } ] }""", ResourceCatalogProblem.InvalidPattern, "entries[0]")]
    [InlineData("""{ "entries": [ { "type": "repo", "path": "a/*/b", "classification": "public" } ] }""", ResourceCatalogProblem.InvalidPattern, "entries[0]")]
    [InlineData("""{ "entries": [ { "type": "Repo!", "path": "a", "classification": "public" } ] }""", ResourceCatalogProblem.InvalidType, "entries[0]")]
    [InlineData("""{ "entries": [ { "type": "repo", "path": "a", "classification": "public", "enviroment": "prod" } ] }""", ResourceCatalogProblem.UnknownField, "entries[0]")]
    [InlineData("""{ "entries": [ { "type": "repo", "classification": "public" } ] }""", ResourceCatalogProblem.MissingField, "entries[0]")]
    [InlineData("""{ "entries": [ { "type": "repo", "path": "a", "classification": "public", "environment": "" } ] }""", ResourceCatalogProblem.InvalidEnvironment, "entries[0]")]
    [InlineData("""{ "entries": [ { "type": "repo", "path": "a", "classification": "public", "owner": "alice\u202E" } ] }""", ResourceCatalogProblem.InvalidOwner, "entries[0]")]
    [InlineData("""{ "entries": [ { "type": "repo", "path": 7, "classification": "public" } ] }""", ResourceCatalogProblem.WrongShape, "entries[0]")]
    [InlineData("""{ "resources": [] }""", ResourceCatalogProblem.UnknownField, null)]
    [InlineData("""[]""", ResourceCatalogProblem.WrongShape, null)]
    [InlineData("""{ }""", ResourceCatalogProblem.MissingField, null)]
    public void Parse_RefusesABadCatalog_WithItsProblemAndEntry(string text, ResourceCatalogProblem problem, string? entry)
    {
        var parsed = ResourceCatalogParser.Parse(text);

        Assert.False(parsed.IsSuccess);
        Assert.Equal(GrantErrorCode.InvalidArgument, parsed.Error.Code);
        Assert.Equal(problem.ToString(), parsed.Error.DetailCode);
        Assert.Equal(entry, parsed.Error.Target);
    }

    [Fact]
    public void Parse_RefusesTextThatIsNotJson_WithItsPosition()
    {
        var parsed = ResourceCatalogParser.Parse("{ \"entries\": [\n  { \"type\": \"repo\", }\n] }");

        Assert.Equal(nameof(ResourceCatalogProblem.NotJson), parsed.Error?.DetailCode);
        Assert.Equal(2, parsed.Error?.Position?.Line);
    }

    [Fact]
    public void Match_TheMostSpecificEntryWins()
    {
        var catalog = CatalogTestSupport.Compile("""
            // comments are allowed
            { "entries": [
              { "type": "*",    "path": "*",                  "classification": "internal" },
              { "type": "repo", "path": "*",                  "classification": "confidential" },
              { "type": "repo", "path": "acme/*",             "classification": "public" },
              { "type": "repo", "path": "acme/payments/*",    "classification": "confidential", "environment": "production", "owner": "person:alice@acme.dev" },
              { "type": "repo", "path": "acme/payments/open", "classification": "public" }
            ] }
            """);

        Assert.Equal("repo acme/payments/*", catalog.Match("repo", "acme/payments/ledger/2026")?.ToString());
        Assert.Equal("repo acme/payments/open", catalog.Match("repo", "acme/payments/open")?.ToString());
        Assert.Equal("repo acme/payments/*", catalog.Match("repo", "acme/payments/open/x")?.ToString());
        // 'acme/payments/*' is strictly below acme/payments: the path itself falls to 'acme/*'.
        Assert.Equal("repo acme/*", catalog.Match("repo", "acme/payments")?.ToString());
        Assert.Equal("repo *", catalog.Match("repo", "other/thing")?.ToString());
        // An entry for the type beats one for every type; another type falls to '*'.
        Assert.Equal("* *", catalog.Match("ticket", "acme/payments/1")?.ToString());
        Assert.Null(CatalogTestSupport.Default.Match("repo", "acme/payments/x"));
    }

    [Fact]
    public void Labels_AnAssertionRaisesTheClassificationNeverLowersIt_AndTheCatalogOwnsEnvironmentAndOwner()
    {
        var catalog = CatalogTestSupport.Compile("""
            { "entries": [
              { "type": "repo", "path": "acme/payments/*", "classification": "confidential", "environment": "production", "owner": "person:alice@acme.dev" },
              { "type": "repo", "path": "acme/docs/*", "classification": "internal" }
            ] }
            """, version: 7);
        var gatewaySays = new Dictionary<string, string> { ["environment"] = "dev", ["owner"] = "person:mallory@evil.dev", ["region"] = "eu" };

        var lowered = ResourceLabels.Apply(catalog, new ResourceRef { Type = "repo", Path = "acme/payments/ledger", Classification = DataClassification.Public, Attributes = gatewaySays });
        Assert.Equal(DataClassification.Confidential, lowered.Resource.Classification);
        Assert.Equal("production", lowered.Resource.Attributes!["environment"]);
        Assert.Equal("person:alice@acme.dev", lowered.Resource.Attributes["owner"]);
        Assert.Equal("eu", lowered.Resource.Attributes["region"]);
        Assert.Equal(7, lowered.CatalogVersion);

        var raised = ResourceLabels.Apply(catalog, new ResourceRef { Type = "repo", Path = "acme/payments/ledger", Classification = DataClassification.Restricted });
        Assert.Equal(DataClassification.Restricted, raised.Resource.Classification);

        // No environment in the entry: the gateway's stands; no owner in the entry: nobody's.
        var docs = ResourceLabels.Apply(catalog, new ResourceRef { Type = "repo", Path = "acme/docs/a", Attributes = gatewaySays });
        Assert.Equal("dev", docs.Resource.Attributes!["environment"]);
        Assert.False(docs.Resource.Attributes.ContainsKey("owner"));

        var unknown = ResourceLabels.Apply(catalog, new ResourceRef { Type = "repo", Path = "elsewhere/x", Classification = DataClassification.Public, Attributes = gatewaySays });
        Assert.False(unknown.Known);
        Assert.Equal(DataClassification.Restricted, unknown.Resource.Classification);
        Assert.Equal("production", unknown.Resource.Attributes!["environment"]);
        Assert.Contains("not in the resource catalog", unknown.UnknownNote, StringComparison.Ordinal);
    }

    [Fact]
    public void TheShippedCatalog_KnowsNoResource()
    {
        Assert.Empty(CatalogTestSupport.Default.Entries);
        Assert.Equal(0, CatalogTestSupport.Default.Version);
    }
}

/// <summary>Publishing the catalog, and decisions labelled by it.</summary>
[Collection(CatalogClusterCollection.Name)]
public sealed class ResourceCatalogTests(CatalogClusterFixture fixture)
{
    private const string Catalog = """
        { "entries": [
          { "type": "repo", "path": "acme/*",          "classification": "internal" },
          { "type": "repo", "path": "acme/payments/*", "classification": "confidential", "environment": "production", "owner": "person:alice@acme.dev" },
          { "type": "repo", "path": "acme/lab/*",      "classification": "internal", "environment": "dev" }
        ] }
        """;

    private readonly Scenario _s = new(fixture);

    private async Task<ResourceCatalogVersionInfo> PublishAsync(string text = Catalog)
    {
        var published = await fixture.Client.PublishResourceCatalogAsync(text, "person:operator@acme.dev");
        Assert.True(published.IsSuccess, published.Error?.ToString());
        return published.Value;
    }

    private async Task<IssuedCredential> CredentialAsync(DataClassification max, params string[] permissions)
    {
        var scope = Scope.Create(permissions, max, 0).Value;
        var agent = await _s.AgentAsync("worker", scope);
        var task = await _s.RootTaskAsync(agent, scope);
        return await _s.IssueAsync(agent, task.TaskId);
    }

    [Fact]
    public async Task Authorize_AnUnlabelledResource_IsRestricted_SoTheClassificationCapRefusesIt()
    {
        await PublishAsync();
        var credential = await CredentialAsync(DataClassification.Confidential, "repo:read:*");

        // The gateway says public; the catalog does not know the path: it is restricted.
        var decision = await fixture.Client.AuthorizeAsync(credential.Token, "read", new ResourceRef { Type = "repo", Path = "elsewhere/secret.txt", Classification = DataClassification.Public });

        Assert.Equal(DecisionReason.ClassificationExceeded, decision.Reason);
        Assert.Contains("not in the resource catalog", decision.Detail, StringComparison.Ordinal);
        Assert.NotNull(decision.CatalogVersion);
    }

    [Fact]
    public async Task Authorize_AnUnlabelledResource_WithinARestrictedScope_NeedsApproval_AndSaysWhy()
    {
        var version = await PublishAsync();
        var credential = await CredentialAsync(DataClassification.Restricted, "repo:read:*");

        var decision = await fixture.Client.AuthorizeAsync(credential.Token, "read", new ResourceRef { Type = "repo", Path = "elsewhere/secret.txt" });

        Assert.Equal(DecisionKind.StepUpRequired, decision.Kind);
        Assert.Contains("restricted-needs-approval", decision.DeterminingPolicies);
        Assert.Contains("not in the resource catalog", decision.Detail, StringComparison.Ordinal);
        Assert.Equal(version.Version, decision.CatalogVersion);
    }

    [Fact]
    public async Task Authorize_AGatewayAssertingPublic_OnACataloguedConfidentialResource_StillGetsConfidential()
    {
        await PublishAsync();
        var credential = await CredentialAsync(DataClassification.Internal, "repo:read:acme/*");

        var decision = await fixture.Client.AuthorizeAsync(credential.Token, "read", new ResourceRef { Type = "repo", Path = "acme/payments/ledger", Classification = DataClassification.Public });

        Assert.Equal(DecisionReason.ClassificationExceeded, decision.Reason);
        Assert.Contains("Confidential", decision.Detail, StringComparison.Ordinal);
        // An internal resource under the same scope is allowed, labelled by the catalog version.
        var allowed = await fixture.Client.AuthorizeAsync(credential.Token, "read", new ResourceRef { Type = "repo", Path = "acme/docs/a", Classification = DataClassification.Public });
        Assert.True(allowed.IsAllowed, allowed.Detail);
        Assert.Equal((await fixture.Client.GetActiveResourceCatalogAsync()).Value.Info.Version, allowed.CatalogVersion);
    }

    [Fact]
    public async Task Authorize_AGatewayRaisingToRestricted_IsHeld()
    {
        await PublishAsync();
        var credential = await CredentialAsync(DataClassification.Confidential, "repo:read:acme/*");

        var decision = await fixture.Client.AuthorizeAsync(credential.Token, "read", new ResourceRef { Type = "repo", Path = "acme/docs/a", Classification = DataClassification.Restricted });

        Assert.Equal(DecisionReason.ClassificationExceeded, decision.Reason);
        Assert.Contains("Restricted", decision.Detail, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("dev")]
    public async Task Authorize_AProductionWrite_NeedsApproval_WhateverEnvironmentTheGatewaySays(string? environment)
    {
        await PublishAsync();
        var credential = await CredentialAsync(DataClassification.Confidential, "repo:write:acme/*");
        var attributes = environment is null ? null : new Dictionary<string, string> { ["environment"] = environment };

        var decision = await fixture.Client.AuthorizeAsync(credential.Token, "write", new ResourceRef { Type = "repo", Path = "acme/payments/ledger", Attributes = attributes });

        Assert.Equal(DecisionKind.StepUpRequired, decision.Kind);
        Assert.Contains("production-write-needs-approval", decision.DeterminingPolicies);
        // A catalogued dev resource is written without approval, whatever the gateway claims about it.
        var lab = await fixture.Client.AuthorizeAsync(credential.Token, "write", new ResourceRef { Type = "repo", Path = "acme/lab/notes", Attributes = new Dictionary<string, string> { ["environment"] = "production" } });
        Assert.True(lab.IsAllowed, lab.Detail);
    }

    [Fact]
    public async Task Authorize_AnActionTheRiskMapDoesNotKnow_NeedsApproval()
    {
        await PublishAsync();
        var credential = await CredentialAsync(DataClassification.Confidential, "repo:*:acme/*");

        var unknown = await fixture.Client.AuthorizeAsync(credential.Token, "execute", new ResourceRef { Type = "repo", Path = "acme/docs/build.sh" });
        var known = await fixture.Client.AuthorizeAsync(credential.Token, "read", new ResourceRef { Type = "repo", Path = "acme/docs/build.sh" });

        Assert.Equal(DecisionKind.StepUpRequired, unknown.Kind);
        Assert.Contains("high-risk-needs-approval", unknown.DeterminingPolicies);
        Assert.True(known.IsAllowed, known.Detail);
    }

    [Fact]
    public async Task Publish_MakesNumberedVersions_ListsThem_AndActivatesTheLatest()
    {
        var first = await PublishAsync();
        var second = await PublishAsync("""{ "entries": [ { "type": "repo", "path": "*", "classification": "restricted" } ] }""");

        Assert.Equal(first.Version + 1, second.Version);
        Assert.Equal(1, second.EntryCount);
        var active = (await fixture.Client.GetActiveResourceCatalogAsync()).Value;
        Assert.Equal(second.Version, active.Info.Version);
        Assert.True(active.Info.IsActive);
        var versions = (await fixture.Client.ListResourceCatalogVersionsAsync()).Value;
        Assert.Equal(0, versions[0].Version);
        Assert.Equal("system", versions[0].Author);
        Assert.Equal([first.Version, second.Version], versions.Where(v => v.Version >= first.Version).Select(v => v.Version));
        Assert.Single(versions, v => v.IsActive);
        TestIdentity.Attach(TestIdentity.Shared.HarnessToken());
        var old = await fixture.Cluster.Client.GetGrain<IResourceCatalogGrain>(0).GetVersionAsync(first.Version);
        Assert.Equal(Catalog, old.Value.Text);
    }

    [Fact]
    public async Task Publish_ABadCatalog_IsRefusedNamingTheEntry_AndChangesNothing()
    {
        var before = await PublishAsync();

        var refused = await fixture.Client.PublishResourceCatalogAsync("""
            { "entries": [
              { "type": "repo", "path": "acme/*", "classification": "internal" },
              { "type": "repo", "path": "acme/*", "classification": "public" }
            ] }
            """, "person:operator@acme.dev");

        Assert.Equal(GrantErrorCode.InvalidArgument, refused.Error?.Code);
        Assert.Equal(nameof(ResourceCatalogProblem.DuplicatePattern), refused.Error?.DetailCode);
        Assert.Equal("entries[1]", refused.Error?.Target);
        var active = (await fixture.Client.GetActiveResourceCatalogAsync()).Value;
        Assert.Equal(before.Version, active.Info.Version);
        Assert.DoesNotContain((await fixture.Client.ListResourceCatalogVersionsAsync()).Value, v => v.Version > before.Version);
    }

    [Fact]
    public async Task TheActiveCatalog_SurvivesANewActivationOfTheStore()
    {
        var published = await PublishAsync();

        // Every idle activation is collected (by the harness, an operator); the store's next activation reads its state back from storage.
        TestIdentity.Attach(TestIdentity.Shared.HarnessToken());
        await fixture.Cluster.Client.GetGrain<IManagementGrain>(0).ForceActivationCollection(TimeSpan.Zero);
        var active = (await fixture.Client.GetActiveResourceCatalogAsync()).Value;

        Assert.Equal(published.Version, active.Info.Version);
        Assert.Equal(Catalog, active.Text);
    }
}

/// <summary>The catalog reaches every silo before its publish returns, as policy versions do.</summary>
public sealed class MultiSiloCatalogTests(TwoSiloFixture fixture) : IClassFixture<TwoSiloFixture>
{
    [Fact]
    public async Task Publish_IsInUseOnEverySilo_BeforeItReturns()
    {
        var scope = Scope.Create(["doc:*:*"], DataClassification.Internal, 0).Value;
        var agent = $"spiffe://test.dev/{Guid.NewGuid():N}/worker";
        Assert.True((await fixture.Client.RegisterAgentAsync(agent, new AgentRegistration { Owner = "person:o", Ceiling = scope })).IsSuccess);
        var tokens = new List<string>();
        for (var i = 0; i < 8; i++)
        {
            var task = (await fixture.Client.CreateTaskAsync(new CreateTaskRequest { Person = "person:alice", Orchestrator = "orchestrator:test", Agent = agent, Scope = scope, Lifetime = TimeSpan.FromHours(1) })).Value;
            var session = (await fixture.Client.OpenSessionAsync(new OpenSessionRequest { Agent = agent })).Value;
            tokens.Add((await fixture.Client.IssueCredentialAsync(session.SessionId, new IssueCredentialRequest { TaskId = task.TaskId })).Value.Token);
        }
        var resource = new ResourceRef { Type = "doc", Path = "reports/q3" };
        foreach (var token in tokens)
        {
            Assert.True((await fixture.Client.AuthorizeAsync(token, "read", resource)).IsAllowed);
        }

        var published = await fixture.Client.PublishResourceCatalogAsync("""
            { "entries": [ { "type": "doc", "path": "reports/*", "classification": "confidential" } ] }
            """, "person:operator").WaitAsync(TimeSpan.FromSeconds(60));
        Assert.True(published.IsSuccess, published.Error?.ToString());

        Assert.Equal(2, fixture.Engines().Count());
        Assert.All(fixture.Engines(), engine => Assert.Equal(published.Value.Version, engine.CurrentCatalog?.Version));
        foreach (var token in tokens)
        {
            var decision = await fixture.Client.AuthorizeAsync(token, "read", resource);
            Assert.Equal(DecisionReason.ClassificationExceeded, decision.Reason);
            Assert.Equal(published.Value.Version, decision.CatalogVersion);
        }
    }
}
