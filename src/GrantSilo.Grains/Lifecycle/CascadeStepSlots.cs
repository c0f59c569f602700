namespace GrantSilo.Grains.Lifecycle;

/// <summary>
/// The silo's slots for background cascade steps: the rounds no caller waits for (every task below the one a caller
/// ended). An end is in force everywhere before it is acknowledged, so this bookkeeping can take its turn; without a
/// bound, ending a large tree queues tens of thousands of calls at once, and every decision on the silo (unrelated
/// ones included) waits behind them.
/// </summary>
/// <remarks>
/// A step keeps its slot until it finishes or for <see cref="Hold"/>, whichever is first. A step that waits longer (a
/// child reactivated from storage outwaits its lease grace; storage is slow) goes on without its slot, so slow steps
/// cannot stall the rest: at worst, <c>slots</c> more steps start every <see cref="Hold"/>. A step never waits for a
/// slot while holding one (the rounds below it run in their own grains' turns), and the hold bound would end such a
/// wait anyway.
/// </remarks>
internal sealed class CascadeStepSlots(int slots, TimeProvider clock) : IDisposable
{
    /// <summary>How long a step keeps its slot at most.</summary>
    public static readonly TimeSpan Hold = TimeSpan.FromMilliseconds(50);

    private readonly SemaphoreSlim _slots = new(slots, slots);

    /// <summary>How many slots are free now (for tests).</summary>
    public int Free => _slots.CurrentCount;

    /// <summary>Runs <paramref name="step"/> once a slot is free; completes when the step does, with its outcome.</summary>
    public async Task RunAsync(Func<Task> step)
    {
        await _slots.WaitAsync();
        Task running;
        try
        {
            running = step();
        }
        catch
        {
            _slots.Release();
            throw;
        }
        try
        {
            await running.WaitAsync(Hold, clock);
        }
        catch (TimeoutException)
        {
            // Still running: it goes on without the slot.
        }
        catch (Exception)
        {
            // The step's own failure: observed below.
        }
        finally
        {
            _slots.Release();
        }
        await running;
    }

    public void Dispose() => _slots.Dispose();
}
