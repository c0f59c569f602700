using GrantSilo.Client;
using GrantSilo.GrainInterfaces;
using GrantSilo.Grains.Audit;
using GrantSilo.Grains.Hosting;
using GrantSilo.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Storage;
using Orleans.TestingHost;

namespace GrantSilo.Grains.Tests;

/// <summary>
/// A silo trusting two OIDC issuers of people: the test people (<c>person:*@test.dev</c>) and a partner
/// (<c>person:*@partner.test</c>), each authoritative for its own names.
/// </summary>
public sealed class TwoPeopleIssuersFixture : GrantSiloClusterFixture
{
    public const string PartnerIssuer = "https://partner.test.grantsilo";

    /// <summary>What the silo logged at Warning and above.</summary>
    public CapturedLog Warnings { get; } = new();

    /// <summary>Every record the silo has audited, oldest first.</summary>
    public IReadOnlyList<AuditRecord> AuditedRecords()
    {
        var store = ((InProcessSiloHandle)Cluster.Primary!).SiloHost.Services.GetRequiredService<IAuditStore>();
        return [.. store.ReadAsync("local", 1, CancellationToken.None).ToBlockingEnumerable().Select(l => l.TryReadRecord()!)];
    }

    protected override void ConfigureCluster(TestClusterBuilder builder)
    {
        var properties = builder.Properties;
        var people = properties.Single(p => p.Key.EndsWith(":Name", StringComparison.Ordinal) && p.Value == "test-people").Key[..^":Name".Length];
        properties[people + ":Names:0"] = "person:*@test.dev";
        var next = $"GrantSilo:Identity:Issuers:{properties.Keys.Count(k => k.StartsWith("GrantSilo:Identity:Issuers:", StringComparison.Ordinal) && k.EndsWith(":Name", StringComparison.Ordinal))}";
        properties[next + ":Name"] = "partner-people";
        properties[next + ":Kind"] = "Oidc";
        properties[next + ":Issuer"] = PartnerIssuer;
        properties[next + ":CallerKind"] = "Person";
        properties[next + ":JwksFile"] = Identity.JwksFile;
        properties[next + ":Names:0"] = "person:*@partner.test";
    }

    protected override void ConfigureSilo(ISiloBuilder silo)
    {
        silo.Services.AddSingleton<Microsoft.Extensions.Logging.ILoggerProvider>(Warnings);
        silo.AddMemoryGrainStorage("grants-inner");
        silo.Services.AddKeyedSingleton<IGrainStorage>(GrantSiloStorage.Name, (sp, _) => new FlakyGrainStorage(sp.GetRequiredKeyedService<IGrainStorage>("grants-inner"), sp.GetRequiredService<IGrainStorageSerializer>()));
        silo.UseInMemoryReminderService();
        silo.Services.AddKeyedSingleton<TimeProvider>(GrantSiloTime.ServiceKey, Time);
        silo.AddGrantSilo();
    }
}

[CollectionDefinition(Name)]
public sealed class TwoPeopleIssuersCollection : ICollectionFixture<TwoPeopleIssuersFixture>
{
    public const string Name = "two-people-issuers";
}

/// <summary>
/// With two issuers of people, a user of one who takes the name of the other's user is not that user: the token is
/// refused at the door, so none of the other user's relations (a task's person reads, re-authorizes and revokes it)
/// are theirs.
/// </summary>
[Collection(TwoPeopleIssuersCollection.Name)]
public class IssuerNamesClusterTests(TwoPeopleIssuersFixture fixture)
{
    private readonly Scenario _s = new(fixture);

    [Fact]
    public async Task APartnerUserNamedAsTheTasksPerson_CannotReadReauthorizeOrRevokeIt()
    {
        var agent = await _s.AgentAsync("planner", Scenario.Scope(1, "repo:read:acme/*"));
        var task = await _s.RootTaskAsync(agent, Scenario.Scope(1, "repo:read:acme/*"));
        Assert.Equal("person:alice@test.dev", task.RootPerson);
        var token = TestIdentity.Shared.PersonTokenFrom(TwoPeopleIssuersFixture.PartnerIssuer, "alice@test.dev", "approver");
        var impostor = fixture.Client.Anonymous.As(new StaticCallerToken(token));

        var read = await impostor.GetTaskAsync(task.TaskId);
        var reauthorized = await impostor.ReauthorizeTaskAsync(task.TaskId);
        var revoked = await impostor.RevokeTaskAsync(task.TaskId, "taken over");

        foreach (var error in new[] { read.Error, reauthorized.Error, revoked.Error })
        {
            Assert.Equal(GrantErrorCode.Unauthenticated, error?.Code);
            Assert.Contains("NameOutsideIssuerNames", error!.Message);
            Assert.DoesNotContain(token, error.Message, StringComparison.Ordinal);
        }

        Assert.Equal(GrantTaskStatus.Active, (await fixture.Client.GetTaskAsync(task.TaskId)).Value.Status);
        Assert.Contains(fixture.Warnings.Lines, l => l.Contains("partner-people is not authoritative for the name 'person:alice@test.dev'", StringComparison.Ordinal));
        Assert.DoesNotContain(fixture.Warnings.Lines, l => l.Contains(token, StringComparison.Ordinal));
        var audited = await Eventually.ReturnsAsync(
            () => Task.FromResult(fixture.AuditedRecords().LastOrDefault(r => r.Kind == AuditEventKind.CallerRefused && r.Action == CallerOperations.TaskRevoke && r.Detail == "unauthenticated (NameOutsideIssuerNames)")),
            r => r is not null, Eventually.InProcess, "the refusal audited");
        Assert.Equal((DecisionReason.CallerUnauthenticated, DecisionKind.Deny, null), (audited!.Reason, audited.Decision, audited.CallerName));
        // The person the task names, vouched for by the issuer of their names, is its person.
        Assert.True((await fixture.Client.AsPerson("person:alice@test.dev").GetTaskAsync(task.TaskId)).IsSuccess);
    }

    [Fact]
    public async Task APartnerUserUnderTheirOwnName_IsAuthenticated_ButNoRelationOfAnother()
    {
        var agent = await _s.AgentAsync("planner", Scenario.Scope(1, "repo:read:acme/*"));
        var task = await _s.RootTaskAsync(agent, Scenario.Scope(1, "repo:read:acme/*"));
        var bob = fixture.Client.Anonymous.As(new StaticCallerToken(TestIdentity.Shared.PersonTokenFrom(TwoPeopleIssuersFixture.PartnerIssuer, "bob@partner.test", "approver")));

        var read = await bob.GetTaskAsync(task.TaskId);

        Assert.Equal(GrantErrorCode.Forbidden, read.Error?.Code);
        Assert.Contains("person:bob@partner.test", read.Error!.Message);
    }
}
