using System.Net;
using System.Net.Sockets;
using GrantSilo.Testing;

namespace GrantSilo.EndToEnd.Tests.Support;

/// <summary>
/// The ports tests hand to the servers they start: outside the range outgoing connections draw from, never handed out
/// twice, held against other test processes, and passed over when something already listens on them.
/// </summary>
public sealed class LoopbackPortsTests
{
    [Fact]
    public void ReservedPorts_AreBelowTheEphemeralRange_Distinct_AndBindable()
    {
        var ports = Enumerable.Range(0, 50).Select(_ => LoopbackPorts.Reserve()).ToList();

        Assert.Equal(ports.Count, ports.Distinct().Count());
        var ephemeralStart = EphemeralRangeStart();
        Assert.All(ports, port => Assert.InRange(port, 1024, ephemeralStart - 1));
        foreach (var port in ports.Take(5))
        {
            using var listener = new TcpListener(IPAddress.Loopback, port);
            listener.Start();
        }
    }

    [Fact]
    public void AReservedPort_IsHeldAgainstAnotherProcess()
    {
        var port = LoopbackPorts.Reserve();
        var lockFile = Path.Combine(Path.GetTempPath(), "grantsilo-test-ports", $"{port}.lock");

        // Another test process claims a port the same way; while this process lives its claim must fail.
        Assert.Throws<IOException>(() => new FileStream(lockFile, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None));
    }

    [Fact]
    public void APortSomethingListensOn_IsPassedOver()
    {
        // Occupy a stretch of the range ahead of the next reservation, then reserve until past it.
        var first = LoopbackPorts.Reserve();
        var busy = new List<TcpListener>();
        try
        {
            for (var port = first + 1; port <= first + 3; port++)
            {
                var listener = new TcpListener(IPAddress.Loopback, port);
                try
                {
                    listener.Start();
                    busy.Add(listener);
                }
                catch (SocketException)
                {
                    listener.Stop();
                }
            }

            var taken = busy.Select(listener => ((IPEndPoint)listener.LocalEndpoint).Port).ToHashSet();
            var next = Enumerable.Range(0, 4).Select(_ => LoopbackPorts.Reserve()).ToList();
            Assert.DoesNotContain(next, taken.Contains);
        }
        finally
        {
            busy.ForEach(listener => listener.Stop());
        }
    }

    private static int EphemeralRangeStart()
    {
        const string range = "/proc/sys/net/ipv4/ip_local_port_range";
        return File.Exists(range) ? int.Parse(File.ReadAllText(range).Split((char[])['\t', ' '], StringSplitOptions.RemoveEmptyEntries)[0], System.Globalization.CultureInfo.InvariantCulture) : 49152;
    }
}
