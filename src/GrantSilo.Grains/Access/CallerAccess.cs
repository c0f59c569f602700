using GrantSilo.Identity;

namespace GrantSilo.Grains.Access;

/// <summary>
/// The door's decision for a caller that another door of this silo has already verified (the HTTP API's): whether the
/// access rules in force permit it an operation whose rules see the caller alone, decided, logged and audited as
/// <see cref="CallerGate"/> decides a grain call. For a door that must refuse a caller before it answers anything else:
/// the HTTP API says why a credential token does not verify only to a caller that may ask about credentials at all.
/// </summary>
public sealed class CallerAccess
{
    private readonly CallerGate? _gate;

    internal CallerAccess(CallerGate? gate) => _gate = gate;

    /// <summary>
    /// Null when the access rules permit <paramref name="caller"/> <paramref name="operation"/> (one of
    /// <c>credential.authorize</c>, <c>credential.introspect</c> and the other operations that need no target); otherwise
    /// the door's refusal: <see cref="GrantErrorCode.Forbidden"/>, or <see cref="GrantErrorCode.Unavailable"/> when the
    /// rules in force cannot be confirmed. <paramref name="target"/> names what was asked about, for the log and audit.
    /// </summary>
    public ValueTask<GrantError?> CheckAsync(Caller caller, string operation, string target)
    {
        ArgumentNullException.ThrowIfNull(caller);
        // A silo built without the door (a measurement only) trusts every caller there, and so here.
        return _gate is null ? ValueTask.FromResult<GrantError?>(null) : _gate.DecideAsync(caller, operation, target);
    }
}
