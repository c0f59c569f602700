namespace GrantSilo.Persistence.AzureTables.Tests.Cluster;

/// <summary>A trivial grain that keeps a counter in persistent state and counts reminder ticks.</summary>
[Alias("grantsilo.tests.storage-probe-grain")]
public interface IStorageProbeGrain : IGrainWithStringKey
{
    [Alias("increment")]
    Task<int> IncrementAsync();

    [Alias("get")]
    Task<ProbeSnapshot> GetAsync();

    [Alias("start-ticking")]
    Task StartTickingAsync(TimeSpan dueTime, TimeSpan period);

    [Alias("stop-ticking")]
    Task StopTickingAsync();

    [Alias("store-blob")]
    Task StoreBlobAsync(int size);

    [Alias("deactivate")]
    Task DeactivateAsync();
}

[GenerateSerializer]
[Alias("grantsilo.tests.probe-state")]
public sealed class ProbeState
{
    [Id(0)]
    public int Count { get; set; }

    [Id(1)]
    public int Ticks { get; set; }

    [Id(2)]
    public byte[] Blob { get; set; } = [];
}

[GenerateSerializer]
[Immutable]
[Alias("grantsilo.tests.probe-snapshot")]
public sealed record ProbeSnapshot([property: Id(0)] int Count, [property: Id(1)] int Ticks, [property: Id(2)] bool RecordExists, [property: Id(3)] Guid ActivationId, [property: Id(4)] string Silo);

public sealed class StorageProbeGrain([PersistentState("probe", ClusterFixture.StorageName)] IPersistentState<ProbeState> state)
    : Grain, IStorageProbeGrain, IRemindable
{
    public const string ReminderName = "probe-tick";

    private readonly Guid _activationId = Guid.NewGuid();

    public async Task<int> IncrementAsync()
    {
        state.State.Count++;
        await state.WriteStateAsync();
        return state.State.Count;
    }

    public Task<ProbeSnapshot> GetAsync()
        => Task.FromResult(new ProbeSnapshot(state.State.Count, state.State.Ticks, state.RecordExists, _activationId, RuntimeIdentity));

    public async Task StartTickingAsync(TimeSpan dueTime, TimeSpan period)
        => await this.RegisterOrUpdateReminder(ReminderName, dueTime, period);

    public async Task StopTickingAsync()
    {
        if (await this.GetReminder(ReminderName) is { } reminder)
        {
            await this.UnregisterReminder(reminder);
        }
    }

    public async Task StoreBlobAsync(int size)
    {
        state.State.Blob = new byte[size];
        await state.WriteStateAsync();
    }

    public Task DeactivateAsync()
    {
        DeactivateOnIdle();
        return Task.CompletedTask;
    }

    public async Task ReceiveReminder(string reminderName, TickStatus status)
    {
        // Ticks may be late or doubled; counting them is enough for the test, which only waits for at least two.
        state.State.Ticks++;
        await state.WriteStateAsync();
    }
}
