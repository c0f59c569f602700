using GrantSilo.Grains.Diagnostics;
using Microsoft.Extensions.Logging;

namespace GrantSilo.Grains.Indexes;

/// <summary>
/// The bulky membership sets of a grain (a task's sessions and children, an agent's tasks and sessions, a
/// session's credentials), kept in a persistent state of their own beside the grain's small status record.
/// Ending a grain writes only the record, so an end never depends on how large these sets have grown; the
/// cascade then walks the index, which shrinks as each step is confirmed.
/// </summary>
/// <remarks>
/// Writes go one at a time. A write that fails may still have committed, so the index is read back before the
/// next one (its ETag must match storage again), and a change made before such a read-back reports failure:
/// a caller told <c>true</c> knows its change is durable.
/// </remarks>
// The write gate never allocates a wait handle (only WaitAsync is used), so there is nothing to dispose.
#pragma warning disable CA1001
internal sealed partial class DurableIndex<T>(IPersistentState<T> state, string kind, Func<string> key, ILogger logger)
    where T : class, new()
#pragma warning restore CA1001
{
    private readonly SemaphoreSlim _gate = new(1, 1);

    // Counts read-backs, so a change made before one is never reported durable.
    private long _generation;
    private bool _unsettled;

    /// <summary>The index as this activation holds it.</summary>
    public T State => state.State;

    /// <summary>Writes the index as it is in memory now; true once it is durable.</summary>
    public async Task<bool> TryWriteAsync()
    {
        // Read in the caller's turn, right after it changed the index.
        var generation = _generation;
        await _gate.WaitAsync();
        try
        {
            if (_unsettled)
            {
                await SettleAsync();
                return false;
            }
            if (generation != _generation)
            {
                return false;
            }
            await state.WriteStateAsync();
            return true;
        }
        catch (Exception exception)
        {
            LogIndexWriteFailed(logger, exception, kind, key());
            _unsettled = true;
            await SettleAsync();
            return false;
        }
        finally
        {
            _gate.Release();
        }
    }

    // Called with the gate held.
    private async Task SettleAsync()
    {
        try
        {
            await state.ReadStateAsync();
            _generation++;
            _unsettled = false;
        }
        catch (Exception exception)
        {
            // Still unknown: the next write reads again first.
            LogIndexWriteFailed(logger, exception, kind, key());
        }
    }

    [LoggerMessage(EventId = (int)LogEvents.IndexWriteFailed, Level = LogLevel.Warning, Message = "Could not write or read back the index of {Kind} {Id}; the change is reported as not made, and the index is read again before the next write")]
    private static partial void LogIndexWriteFailed(ILogger logger, Exception exception, string kind, string id);
}
