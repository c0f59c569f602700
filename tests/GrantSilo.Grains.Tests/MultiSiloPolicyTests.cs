using GrantSilo.Hosting;
using GrantSilo.Testing;
using GrantSilo.Grains.Hosting;
using GrantSilo.Grains.Policies;
using Microsoft.Extensions.DependencyInjection;
using Orleans.TestingHost;

namespace GrantSilo.Grains.Tests;

/// <summary>
/// Two silos whose periodic policy refresh is far slower than the test, so only the store's push can
/// explain a silo deciding with a new version as soon as the publish returns.
/// </summary>
public sealed class TwoSiloFixture() : GrantSiloClusterFixture(silos: 2)
{
    internal IEnumerable<PolicyEngineHost> Engines() =>
        Cluster.Silos.Cast<InProcessSiloHandle>().Select(s => s.SiloHost.Services.GetRequiredService<PolicyEngineHost>());

    protected override void ConfigureSilo(ISiloBuilder silo)
    {
        silo.AddMemoryGrainStorage(GrantSiloStorage.Name);
        silo.UseInMemoryReminderService();
        silo.AddGrantSilo(configurePolicy: o =>
        {
            o.RefreshInterval = TimeSpan.FromMinutes(30);
            o.ConfirmationLease = TimeSpan.FromHours(1);
        });
    }
}

public class MultiSiloPolicyTests(TwoSiloFixture fixture) : IClassFixture<TwoSiloFixture>
{
    [Fact]
    public async Task Publish_IsInUseOnEverySilo_BeforeItReturns()
    {
        var scope = GrantSilo.Scope.Create(["doc:*:*"], DataClassification.Internal, 0).Value;
        var agent = $"spiffe://test.dev/{Guid.NewGuid():N}/worker";
        Assert.True((await fixture.Client.RegisterAgentAsync(agent, new AgentRegistration { Owner = "person:o", Ceiling = scope })).IsSuccess);
        // Credentials spread over both silos (random placement), each deciding with its silo's engine.
        var tokens = new List<string>();
        for (var i = 0; i < 8; i++)
        {
            var task = (await fixture.Client.CreateTaskAsync(new CreateTaskRequest { Person = "person:alice", Orchestrator = "orchestrator:test", Agent = agent, Scope = scope, Lifetime = TimeSpan.FromHours(1) })).Value;
            var session = (await fixture.Client.OpenSessionAsync(new OpenSessionRequest { Agent = agent })).Value;
            tokens.Add((await fixture.Client.IssueCredentialAsync(session.SessionId, new IssueCredentialRequest { TaskId = task.TaskId })).Value.Token);
        }
        var resource = new ResourceRef { Type = "doc", Path = "a" };
        foreach (var token in tokens)
        {
            Assert.True((await fixture.Client.AuthorizeAsync(token, "read", resource)).IsAllowed);
        }

        var published = await fixture.Client.PublishPolicyAsync("""
            @id("no-reads") forbid (principal, action == Action::"read", resource);
            @id("all") permit (principal, action, resource);
            """, "person:security").WaitAsync(TimeSpan.FromSeconds(60));
        Assert.True(published.IsSuccess, published.Error?.ToString());

        Assert.Equal(2, fixture.Engines().Count());
        Assert.All(fixture.Engines(), engine => Assert.Equal(published.Value.Version, engine.Current?.Version));
        foreach (var token in tokens)
        {
            var decision = await fixture.Client.AuthorizeAsync(token, "read", resource);
            Assert.Equal(DecisionReason.PolicyDenied, decision.Reason);
            Assert.Equal(published.Value.Version, decision.PolicyVersion);
        }
    }
}
