using System.Reflection;
using GrantSilo.Grains.Fencing;
using GrantSilo.Grains.Hosting;
using GrantSilo.Grains.Leases;
using Orleans.Serialization.Invocation;

namespace GrantSilo.EndToEnd.Tests;

/// <summary>The fence in front of every GrantSilo grain: no valid lease, no answer.</summary>
public sealed class SiloLeaseCallFilterTests
{
    [Fact]
    public async Task GrantSiloGrain_IsNotInvoked_WhileTheLeaseIsInvalid()
    {
        var filter = new SiloLeaseCallFilter(new FixedLease(valid: false));
        var call = new FakeCall(new GrantSiloOptions());

        var error = await Assert.ThrowsAsync<SiloLeaseExpiredException>(() => filter.Invoke(call));

        Assert.False(call.Invoked);
        Assert.Contains("silo lease expired", error.Message, StringComparison.Ordinal);
        Assert.Contains("test reason", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task GrantSiloGrain_IsInvoked_WhileTheLeaseIsValid()
    {
        var call = new FakeCall(new GrantSiloOptions());

        await new SiloLeaseCallFilter(new FixedLease(valid: true)).Invoke(call);

        Assert.True(call.Invoked);
    }

    [Fact]
    public async Task AMethodThatOnlyTakesPermissionAway_StillRuns_WhileTheLeaseIsInvalid()
    {
        // Dropping decision leases: refusing it would only make an end outwait leases it could revoke.
        var call = new FakeCall(new GrantSiloOptions(), typeof(ILeaseHolderGrain).GetMethod(nameof(ILeaseHolderGrain.InvalidateLeasesAsync)));

        await new SiloLeaseCallFilter(new FixedLease(valid: false)).Invoke(call);

        Assert.True(call.Invoked);
    }

    [Fact]
    public async Task OtherGrains_AreNotFenced()
    {
        var call = new FakeCall(new object());

        await new SiloLeaseCallFilter(new FixedLease(valid: false)).Invoke(call);

        Assert.True(call.Invoked);
    }

    private sealed class FixedLease(bool valid) : ISiloLease
    {
        public bool IsValid(out string? reason)
        {
            reason = valid ? null : "test reason";
            return valid;
        }
    }

    /// <summary>A call on <paramref name="grain"/>; the filter only looks at the grain's type and invokes.</summary>
    private sealed class FakeCall(object grain, MethodInfo? method = null) : IIncomingGrainCallContext
    {
        public bool Invoked { get; private set; }

        public object Grain => grain;

        public Task Invoke()
        {
            Invoked = true;
            return Task.CompletedTask;
        }

        public MethodInfo ImplementationMethod => throw new NotSupportedException();

        public IGrainContext TargetContext => throw new NotSupportedException();

        public MethodInfo InterfaceMethod => method ?? typeof(GrantSilo.GrainInterfaces.ITaskGrain).GetMethod(nameof(GrantSilo.GrainInterfaces.ITaskGrain.GetAsync))!;

        public string InterfaceName => throw new NotSupportedException();

        public GrainInterfaceType InterfaceType => throw new NotSupportedException();

        public string MethodName => throw new NotSupportedException();

        public IInvokable Request => throw new NotSupportedException();

        public Response? Response { get; set; }

        public object? Result { get; set; }

        public GrainId? SourceId => null;

        public GrainId TargetId => default;
    }
}
