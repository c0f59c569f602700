using GrantSilo.Grains.Access;
using GrantSilo.Grains.Fencing;
using GrantSilo.Grains.Lifecycle;

namespace GrantSilo.Grains.Hosting;

/// <summary>
/// The silo's one incoming grain call filter: a malformed grain key is refused (<see cref="GrainKeyCallFilter"/>), then the
/// fence (<see cref="SiloLeaseCallFilter"/>), then the door (<see cref="CallerGate"/>), in that order. One filter rather
/// than three: Orleans runs each filter as a frame of its call pipeline, and a call that waits (an Allow waits for its audit
/// record) suspends and resumes every frame.
/// </summary>
internal sealed class IncomingCallChecks(GrainKeyCallFilter keys, SiloLeaseCallFilter? fence, CallerGate? door) : IIncomingGrainCallFilter
{
    public Task Invoke(IIncomingGrainCallContext context)
    {
        Task? refused;
        try
        {
            refused = keys.Refuse(context);
        }
        catch
        {
            Forget(context);
            throw;
        }
        if (refused is not null)
        {
            Forget(context);
            return refused;
        }
        fence?.Check(context);
        return door is null ? context.Invoke() : door.Invoke(context);
    }

    // A malformed key names nothing that can ever exist: its activation (which Orleans made before any filter ran) goes
    // with the refusal, rather than stay until idle collection for every malformed key a caller sends.
    private static void Forget(IIncomingGrainCallContext context) =>
        context.TargetContext.Deactivate(new DeactivationReason(DeactivationReasonCode.ApplicationRequested, "The call named a malformed grain key."));
}
