using GrantSilo.Hosting;
using GrantSilo.Grains.Fencing;
using System.Collections.Concurrent;
using GrantSilo.Testing;
using GrantSilo.Grains.Hosting;
using GrantSilo.Grains.Decisions;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Orleans.Storage;
using Orleans.TestingHost;

namespace GrantSilo.Grains.Tests;

/// <summary>
/// A silo whose grant clock and decision-lease clock are both fake, with a grain call filter that
/// counts the lease calls and can make chosen lease holders unreachable, and grain storage and a
/// reminder table that fail on demand: the tests move lease time instead of waiting for it, and see
/// exactly which grains were asked.
/// </summary>
public sealed class LeaseClusterFixture() : GrantSiloClusterFixture(time: GrantClock)
{
    internal static readonly FakeTimeProvider GrantClock = new(new DateTimeOffset(2026, 11, 23, 9, 0, 0, TimeSpan.Zero));

    internal static readonly EarlyTimerClock LeaseClock = new(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));

    /// <summary>Whether this silo may answer for the cluster; a test lets it lapse.</summary>
    internal static readonly SwitchableSiloLease SiloLease = new();

    internal static readonly LeaseProbe Probe = new();

    public static readonly TimeSpan LeaseDuration = TimeSpan.FromSeconds(2);

    protected override void ConfigureSilo(ISiloBuilder silo)
    {
        silo.AddMemoryGrainStorage("grants-inner");
        silo.Services.AddKeyedSingleton<IGrainStorage>(GrantSiloStorage.Name, (sp, _) => new FlakyGrainStorage(sp.GetRequiredKeyedService<IGrainStorage>("grants-inner")));
        silo.AddReminders();
        silo.Services.AddSingleton<IReminderTable, FlakyReminderTable>();
        silo.Services.AddKeyedSingleton<TimeProvider>(GrantSiloTime.ServiceKey, GrantClock);
        silo.Services.AddKeyedSingleton<TimeProvider>(GrantSiloTime.LeaseClockKey, LeaseClock);
        silo.AddIncomingGrainCallFilter(Probe.InvokeAsync);
        silo.Services.AddSingleton<ISiloLease>(SiloLease);
        silo.AddGrantSilo(o => o.DecisionLeaseDuration = LeaseDuration);
    }
}

/// <summary>Counts lease calls per target grain and method, and fails invalidations sent to unreachable holders.</summary>
internal sealed class LeaseProbe
{
    private static readonly HashSet<string> Watched = ["LeaseChainAsync", "LeaseSelfAsync", "LeaseAsync", "InvalidateLeasesAsync"];
    private readonly ConcurrentDictionary<(GrainId, string), int> _calls = new();
    private readonly ConcurrentDictionary<GrainId, TaskCompletionSource> _unreachable = new();
    private readonly ConcurrentDictionary<GrainId, (TaskCompletionSource Entered, TaskCompletionSource Release)> _held = new();

    /// <summary>
    /// From now on, invalidations sent to <paramref name="holder"/> wait before reaching it until
    /// <see cref="Release"/>; <c>Entered</c> completes when the first one is being held.
    /// </summary>
    public Task Hold(GrainId holder) =>
        _held.GetOrAdd(holder, _ => (new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously), new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously))).Entered.Task;

    public void Release(GrainId holder)
    {
        if (_held.TryRemove(holder, out var held))
        {
            held.Release.TrySetResult();
        }
    }

    public int Calls(GrainId target, string method) => _calls.GetValueOrDefault((target, method));

    /// <summary>From now on, invalidations sent to <paramref name="holder"/> fail as if its silo were gone; the task completes when one has failed.</summary>
    public Task MakeUnreachable(GrainId holder) => _unreachable.GetOrAdd(holder, _ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).Task;

    public void MakeReachable(GrainId holder) => _unreachable.TryRemove(holder, out _);

    private readonly ConcurrentDictionary<(GrainId, string), Func<Exception>> _failing = new();

    /// <summary>From now on, calls of <paramref name="method"/> on <paramref name="target"/> fail before reaching it (with a timeout, unless told otherwise).</summary>
    public void Fail(GrainId target, string method, Func<Exception>? exception = null) =>
        _failing[(target, method)] = exception ?? (() => new TimeoutException($"{method} on {target} failed (test)."));

    public void Heal(GrainId target, string method) => _failing.TryRemove((target, method), out _);

    public async Task InvokeAsync(IIncomingGrainCallContext context)
    {
        var method = context.InterfaceMethod?.Name ?? "";
        if (_failing.TryGetValue((context.TargetId, method), out var failure))
        {
            throw failure();
        }
        if (Watched.Contains(method))
        {
            _calls.AddOrUpdate((context.TargetId, method), 1, (_, n) => n + 1);
            if (method == "InvalidateLeasesAsync" && _unreachable.TryGetValue(context.TargetId, out var failed))
            {
                failed.TrySetResult();
                throw new TimeoutException($"Lease holder {context.TargetId} is unreachable (test).");
            }
            if (method == "InvalidateLeasesAsync" && _held.TryGetValue(context.TargetId, out var held))
            {
                held.Entered.TrySetResult();
                await held.Release.Task;
            }
        }
        await context.Invoke();
    }
}

[CollectionDefinition(Name)]
public sealed class LeaseClusterCollection : ICollectionFixture<LeaseClusterFixture>
{
    public const string Name = "lease-cluster";
}

/// <summary>A silo lease a test can let lapse.</summary>
internal sealed class SwitchableSiloLease : ISiloLease
{
    public volatile bool Lapsed;

    public bool IsValid(out string? reason)
    {
        reason = Lapsed ? "lapsed (test)" : null;
        return !Lapsed;
    }
}

/// <summary>A fake monotonic clock whose timers fire <see cref="Early"/> before they are due, as real timers can.</summary>
internal sealed class EarlyTimerClock : FakeTimeProvider
{
    public EarlyTimerClock()
    {
    }

    public EarlyTimerClock(DateTimeOffset start)
        : base(start)
    {
    }

    public TimeSpan Early { get; set; }

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period) =>
        base.CreateTimer(callback, state, dueTime > Early ? dueTime - Early : TimeSpan.Zero, period);
}
