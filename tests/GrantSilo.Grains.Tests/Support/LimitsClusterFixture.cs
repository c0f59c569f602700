using GrantSilo.Grains.Hosting;
using GrantSilo.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Storage;

namespace GrantSilo.Grains.Tests;

/// <summary>
/// A silo with small quotas and bounds (and a task's and an agent's session quotas in the thousands), whose
/// storage measures what chosen grains write: the limits are reached in a test, and the size of a terminal
/// write is read off storage.
/// </summary>
public sealed class LimitsClusterFixture : GrantSiloClusterFixture
{
    public const int TasksPerAgent = 5;
    public const int SessionsPerAgent = 2_100;
    public const int SessionsPerTask = 2_000;
    public const int CredentialsPerSession = 3;
    public const int ApprovalSubscriptions = 2;
    public const int PendingApprovals = 3;
    public const int PendingApprovalsPerAgent = 2;
    public const int CascadesListed = 2;
    public const int CascadeSlots = 2;

    protected override void ConfigureSilo(ISiloBuilder silo)
    {
        silo.AddMemoryGrainStorage("grants-inner");
        silo.Services.AddKeyedSingleton<IGrainStorage>(GrantSiloStorage.Name, (sp, _) => new FlakyGrainStorage(sp.GetRequiredKeyedService<IGrainStorage>("grants-inner"), sp.GetRequiredService<IGrainStorageSerializer>()));
        silo.UseInMemoryReminderService();
        silo.Services.AddKeyedSingleton<TimeProvider>(GrantSiloTime.ServiceKey, Time);
        silo.AddGrantSilo(o =>
        {
            o.MaxLiveTasksPerAgent = TasksPerAgent;
            o.MaxLiveSessionsPerAgent = SessionsPerAgent;
            o.MaxLiveSessionsPerTask = SessionsPerTask;
            o.MaxLiveCredentialsPerSession = CredentialsPerSession;
            o.MaxApprovalSubscriptions = ApprovalSubscriptions;
            o.MaxPendingApprovals = PendingApprovals;
            o.MaxPendingApprovalsPerAgent = PendingApprovalsPerAgent;
            o.MaxPendingCascadesListed = CascadesListed;
            o.MaxConcurrentCascadeSteps = CascadeSlots;
        });
    }
}

[CollectionDefinition(Name)]
public sealed class LimitsClusterCollection : ICollectionFixture<LimitsClusterFixture>
{
    public const string Name = "limits-cluster";
}
