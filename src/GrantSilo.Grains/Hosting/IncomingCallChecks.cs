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
        if (keys.Refuse(context) is { } refused)
        {
            return refused;
        }
        fence?.Check(context);
        return door is null ? context.Invoke() : door.Invoke(context);
    }
}
