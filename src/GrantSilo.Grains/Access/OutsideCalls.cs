namespace GrantSilo.Grains.Access;

/// <summary>
/// Declares that the code running now serves a caller from outside the cluster through another door than
/// Orleans' gateway: the HTTP API, co-hosted in the silo's process, calling grains in-process. Every grain call
/// a silo makes is marked as the cluster's own (<see cref="InternalCallMarker"/>) and passes the door unjudged;
/// within an outside-call scope a call that is not made from inside a grain turn is left unmarked and keeps the
/// caller's token, so the door (<see cref="CallerGate"/>) authenticates and judges it exactly as it judges a
/// cluster client's call. Such a call also carries a mark saying its door has limited the caller's rate itself
/// (<see cref="ClusterCallKey.LimitedDoorHeader"/>), so the gateway's per-caller limit is not applied again: enter the
/// scope only for a door that limits its callers (the HTTP API's <c>GrantSilo:Http:PermitsPerSecond</c>).
/// </summary>
/// <remarks>
/// The scope can only take privilege away: a call inside it is judged as its outside caller, never trusted more.
/// It is process-local (an <see cref="AsyncLocal{T}"/>), never carried by a message, and it ends at the door: the
/// gate clears it for every grain call it serves, so a grain's own onward calls (and anything a grain starts) are
/// marked as always, whoever the request came from.
/// </remarks>
public static class OutsideCalls
{
    private static readonly object Marker = new();
    private static readonly AsyncLocal<object?> Current = new();

    /// <summary>
    /// Enters an outside-call scope for the rest of the calling async method (and everything it awaits), until the
    /// returned scope is disposed. Call it first thing for every request a non-Orleans door serves.
    /// </summary>
    public static Scope Enter()
    {
        var previous = Current.Value;
        Current.Value = Marker;
        return new Scope(previous);
    }

    /// <summary>
    /// Leaves the outside-call scope for the rest of the calling async method, until the returned scope is disposed:
    /// grain calls made meanwhile are the cluster's own. Only for a door that has itself decided that its outside caller
    /// may use a surface of the cluster's internal grains (the operators' Orleans Dashboard), after that decision.
    /// </summary>
    public static Scope Leave()
    {
        var previous = Current.Value;
        Current.Value = null;
        return new Scope(previous);
    }

    /// <summary>Whether the code running now serves an outside caller (and is not a grain turn).</summary>
    public static bool IsActive => Current.Value is not null;

    // The door clears the scope for the grain call it serves (and for everything the call starts). Read first:
    // writing an AsyncLocal costs an execution-context change, and nearly every call finds nothing to clear.
    internal static void End()
    {
        if (Current.Value is not null)
        {
            Current.Value = null;
        }
    }

    /// <summary>An outside-call scope; disposing it restores what was in force before.</summary>
    public readonly struct Scope : IDisposable
    {
        private readonly object? _previous;

        internal Scope(object? previous) => _previous = previous;

        /// <inheritdoc />
        public void Dispose() => Current.Value = _previous;
    }
}
