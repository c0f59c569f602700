using GrantSilo.Testing;
using GrantSilo.Client;
using GrantSilo.EndToEnd.Tests.Support;
using GrantSilo.GrainInterfaces;
using GrantSilo.Persistence.AzureTables;
using GrantSilo.Persistence.AzureTables.Tests.Support;
using GrantSilo.Hosting;
using GrantSilo.Testing.Azurite;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Orleans.Configuration;
using Orleans.TestingHost;
using Xunit.Abstractions;

namespace GrantSilo.EndToEnd.Tests;

/// <summary>
/// A three-silo TestCluster built with the silo host's own AzureTable profile on Azurite. The silo that
/// owns a task's reminder (and hosts the task) is killed; the task still expires on time and its
/// cascade still completes, enacted by the survivors.
/// </summary>
public sealed class ReminderOwnerCrashTests(ITestOutputHelper output) : IAsyncLifetime
{
    private AzuriteProcess? _azurite;
    private TestCluster? _cluster;

    public async Task InitializeAsync()
    {
        _azurite = await AzuriteProcess.StartAsync();
        var builder = new TestClusterBuilder(3);
        builder.Options.UseTestClusterMembership = false;
        foreach (var (key, value) in MultiSiloSettings.AsConfiguration(MultiSiloSettings.Silo(_azurite.ConnectionString, 1, 2)).Where(p => !p.Key.StartsWith("GrantSilo:Silo:", StringComparison.Ordinal)))
        {
            builder.Properties[key] = value;
        }
        builder.Properties["GrantSilo:Membership:ProbeTimeout"] = "00:00:01";
        foreach (var (key, value) in TestIdentity.Shared.SiloConfiguration())
        {
            builder.Properties[key] = value!;
        }
        builder.AddSiloBuilderConfigurator<AzureTableProfile>();
        builder.AddClientBuilderConfigurator<AzureTableClient>();
        _cluster = builder.Build();
        await _cluster.DeployAsync();
        await TestCatalogs.PublishPermissiveAsync(new ActingGrantClient(new GrantClient(_cluster.Client), TestIdentity.Shared), TimeSpan.FromSeconds(60));
    }

    public async Task DisposeAsync()
    {
        if (_cluster is not null)
        {
            await _cluster.DisposeAsync();
        }
        if (_azurite is not null)
        {
            await _azurite.DisposeAsync();
        }
    }

    [Fact]
    public async Task KillingTheSiloOwningATasksReminder_TheTaskStillExpiresAndItsCascadeCompletesOnTheSurvivors()
    {
        var cluster = _cluster!;
        var grants = new Scenario(new ActingGrantClient(new GrantClient(cluster.Client), TestIdentity.Shared), settling: TimeSpan.FromSeconds(60));
        var management = cluster.Client.GetGrain<IManagementGrain>(0);
        var planner = await grants.AgentAsync("planner", Scenario.Scope(1, "repo:read:acme/*"));
        var worker = await grants.AgentAsync("worker", Scenario.Scope(0, "repo:read:acme/*"));
        var lifetime = TimeSpan.FromSeconds(25);

        // A task whose reminder is owned by, and whose activation lives on, the same non-primary silo.
        TaskInfo? task = null;
        SiloHandle? owner = null;
        for (var attempt = 0; attempt < 30 && owner is null; attempt++)
        {
            var candidate = await grants.RootTaskAsync(planner, Scenario.Scope(1, "repo:read:acme/*"), lifetime);
            var reminderOwner = ReminderOwner(cluster, GrainId.Create("task", candidate.TaskId));
            var host = await management.ActivationAddressAsync(cluster.Client.GetGrain<ITaskGrain>(candidate.TaskId));
            if (reminderOwner is not null && reminderOwner != cluster.Primary && reminderOwner.SiloAddress.Equals(host))
            {
                (task, owner) = (candidate, reminderOwner);
            }
            else
            {
                Assert.True((await grants.Client.RevokeTaskAsync(candidate.TaskId, "not the one")).IsSuccess);
            }
        }
        Assert.NotNull(owner);
        var proof = await grants.IssueAsync(planner, task!.TaskId);
        var child = await grants.DelegateAsync(task, proof, worker, Scenario.Scope(0, "repo:read:acme/*"), task.ExpiresAt - DateTimeOffset.UtcNow - TimeSpan.FromSeconds(1));
        var childCredential = await grants.IssueAsync(worker, child.TaskId);
        Assert.True((await grants.AuthorizeAsync(childCredential)).IsAllowed);
        var reminders = await MicrosoftTables.RemindersAsync(_azurite!.ConnectionString, cluster.Options.ServiceId, cluster.Options.ClusterId);
        var reminder = GrainId.Create("task", task.TaskId);
        Assert.NotNull(await reminders.ReadRow(reminder, "lifecycle"));

        await cluster.KillSiloAsync(owner);
        output.WriteLine($"{DateTime.UtcNow:HH:mm:ss.fff} killed {owner.SiloAddress}, which owned the reminder of {task.TaskId}; it expires at {task.ExpiresAt:HH:mm:ss.fff}");

        // Nothing touches the task itself until its reminder has fired on a survivor and removed itself.
        await Eventually.HoldsAsync(async () => await reminders.ReadRow(reminder, "lifecycle") is null, TimeSpan.FromSeconds(120), "the reminder to fire on a survivor");
        output.WriteLine($"{DateTime.UtcNow:HH:mm:ss.fff} reminder fired and removed");
        // A cascade step that fails while the cluster settles (a survivor's silo lease briefly lapsing under
        // load) is retried with backoff by the active grain and, at the latest, by its reminder a minute on.
        var tree = await Eventually.ReturnsAsync(async () => (await grants.Client.GetTaskTreeAsync(task.TaskId)).Value,
            t => t.DescendantsAndSelf().All(n => n.Task.IsTerminal && n.Task.EndedAt is not null && n.Task.PendingCascade == 0), TimeSpan.FromSeconds(90), "the cascade to complete");
        Assert.Equal(GrantTaskStatus.Expired, tree.Task.Status);
        Assert.True(tree.Task.EndedAt >= task.ExpiresAt);
        foreach (var credential in new[] { proof, childCredential })
        {
            var info = (await grants.Client.GetCredentialAsync(credential.CredentialId)).Value;
            Assert.NotEqual(CredentialStatus.Active, info.Status);
            Assert.NotNull(info.StatusReason);
            Assert.False((await grants.AuthorizeAsync(credential)).IsAllowed);
        }
    }

    /// <summary>The silo whose reminder service owns <paramref name="grain"/>: its ring range holds the grain's hash.</summary>
    private static SiloHandle? ReminderOwner(TestCluster cluster, GrainId grain)
    {
        foreach (var silo in cluster.GetActiveSilos().OfType<InProcessSiloHandle>())
        {
            // The ring provider is internal to Orleans; reminders are partitioned by it.
            var ringType = Type.GetType("Orleans.Runtime.ConsistentRing.IConsistentRingProvider, Orleans.Runtime", throwOnError: true)!;
            var ring = silo.SiloHost.Services.GetRequiredService(ringType);
            var range = (IRingRange)ringType.GetMethod("GetMyRange")!.Invoke(ring, null)!;
            if (range.InRange(grain.GetUniformHashCode()))
            {
                return silo;
            }
        }
        return null;
    }

    private sealed class AzureTableProfile : ISiloConfigurator
    {
        public void Configure(ISiloBuilder siloBuilder) => siloBuilder.UseAzureTableWithoutEndpoints(siloBuilder.Configuration);
    }

    private sealed class AzureTableClient : IClientBuilderConfigurator
    {
        public void Configure(IConfiguration configuration, IClientBuilder clientBuilder) =>
            clientBuilder.UseAzureTableGrantClustering(configuration.GetSection(AzureTableGrantConfiguration.SectionName));
    }
}
