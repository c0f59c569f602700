using GrantSilo.Grains.Lifecycle;
using Microsoft.Extensions.Time.Testing;

namespace GrantSilo.Grains.Tests;

/// <summary>
/// The silo's slots for background cascade steps: at most so many run at once, a step that outlasts the hold goes on
/// without its slot (a slow child cannot stall the rest), and every step's outcome reaches its caller.
/// </summary>
public class CascadeStepSlotsTests
{
    [Fact]
    public async Task AtMostTheSlotsRunAtOnce_AndAWaitingStepStartsWhenOneFinishes()
    {
        var clock = new FakeTimeProvider();
        using var slots = new CascadeStepSlots(2, clock);
        var gates = Enumerable.Range(0, 3).Select(_ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).ToArray();
        var started = Enumerable.Range(0, 3).Select(_ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).ToArray();
        var runs = Enumerable.Range(0, 3).Select(i => slots.RunAsync(() =>
        {
            started[i].SetResult();
            return gates[i].Task;
        })).ToArray();

        Assert.Equal([true, true, false], started.Select(s => s.Task.IsCompleted));
        Assert.Equal(0, slots.Free);

        gates[0].SetResult();
        await runs[0];
        // Started by the freed slot (its waiter resumes on the thread pool); the bound only guards against a hang.
        await started[2].Task.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.False(runs[2].IsCompleted);

        gates[1].SetResult();
        gates[2].SetResult();
        await Task.WhenAll(runs);
        Assert.Equal(2, slots.Free);
    }

    [Fact]
    public async Task AStepThatOutlastsTheHold_GoesOnWithoutItsSlot_AndStillReportsItsEnd()
    {
        var clock = new FakeTimeProvider();
        using var slots = new CascadeStepSlots(1, clock);
        var slow = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var slowRun = slots.RunAsync(() => slow.Task);
        var nextStarted = false;
        var nextRun = slots.RunAsync(() =>
        {
            nextStarted = true;
            return Task.CompletedTask;
        });

        clock.Advance(CascadeStepSlots.Hold - TimeSpan.FromMilliseconds(1));
        Assert.False(nextStarted);

        clock.Advance(TimeSpan.FromMilliseconds(1));
        // The bound only guards against a hang (a slot held for the slow step's whole run).
        await nextRun.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.True(nextStarted);
        Assert.False(slowRun.IsCompleted);

        slow.SetResult();
        await slowRun;
        Assert.Equal(1, slots.Free);
    }

    [Fact]
    public async Task AFailedStep_ReachesItsCaller_AndFreesItsSlot()
    {
        using var slots = new CascadeStepSlots(1, new FakeTimeProvider());
        var failing = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var run = slots.RunAsync(() => failing.Task);
        failing.SetException(new InvalidOperationException("step failed"));

        Assert.Equal("step failed", (await Assert.ThrowsAsync<InvalidOperationException>(() => run)).Message);
        Assert.Equal(1, slots.Free);
        await Assert.ThrowsAsync<InvalidOperationException>(() => slots.RunAsync(() => throw new InvalidOperationException("at once")));
        Assert.Equal(1, slots.Free);
    }
}
