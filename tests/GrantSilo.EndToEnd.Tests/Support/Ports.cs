namespace GrantSilo.EndToEnd.Tests.Support;

internal static class Ports
{
    /// <summary>A loopback TCP port reserved for this test process (see <see cref="Testing.LoopbackPorts"/>).</summary>
    public static int Free() => Testing.LoopbackPorts.Reserve();
}
