using GrantSilo.Grains.Lifecycle;
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
internal sealed class DurableIndex<T>(IPersistentState<T> state, string kind, Func<string> key, ILogger logger)
    where T : class, new()
{
    // The same one-at-a-time, read-back-after-failure writes as the record. A read-back that fails too leaves
    // the activation running: the next write reads again first, and nothing is answered as durable meanwhile.
    private readonly DurableState<T> _durable = new(state, logger, kind + " index", key, deactivate: static () => { });

    /// <summary>The index as this activation holds it.</summary>
    public T State => _durable.State;

    /// <summary>Writes the index as it is in memory now; true once it is durable.</summary>
    public Task<bool> TryWriteAsync() => _durable.TryWriteAsync();
}
