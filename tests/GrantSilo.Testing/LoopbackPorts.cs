using System.Net;
using System.Net.Sockets;

namespace GrantSilo.Testing;

/// <summary>
/// Hands out loopback TCP ports for servers a test starts later (a silo process, Kestrel, Azurite), so that nothing
/// else takes the port between the choice and the bind.
/// </summary>
/// <remarks>
/// Asking the kernel for port 0 and closing the listener gives a port from the ephemeral range, which every outgoing
/// connection on the host draws from as well: an HTTP client or a silo connecting out could take it before the server
/// binds it ("address already in use"). These ports come from below that range instead (Linux's default ephemeral
/// range starts at 32768, Windows' at 49152), and each is held for the life of the test process by an exclusive lock
/// on a file named after it, so two test processes running side by side (the test projects run in parallel) never
/// hand out the same one. A port something already listens on is passed over. The locks end with the process, however
/// it ends. Depends on nothing but the BCL so test and benchmark projects can link this file.
/// </remarks>
public static class LoopbackPorts
{
    private const int First = 20000;
    private const int Count = 12000;

    private static readonly object Gate = new();
    private static readonly List<FileStream> Held = [];
    private static readonly string LockDirectory = Path.Combine(Path.GetTempPath(), "grantsilo-test-ports");
    private static int _next = Random.Shared.Next(Count);

    /// <summary>Reserves a loopback port for this process and returns it.</summary>
    public static int Reserve()
    {
        lock (Gate)
        {
            Directory.CreateDirectory(LockDirectory);
            for (var tried = 0; tried < Count; tried++)
            {
                var port = First + (_next++ % Count);
                var claim = TryClaim(port);
                if (claim is null)
                {
                    continue;
                }

                if (!IsFree(port))
                {
                    claim.Dispose();
                    continue;
                }

                Held.Add(claim);
                return port;
            }
        }

        throw new InvalidOperationException($"No loopback port in {First}-{First + Count - 1} is free and unclaimed by another test process.");
    }

    private static FileStream? TryClaim(int port)
    {
        try
        {
            // FileShare.None takes an exclusive lock (flock on Unix) that another process's open of the same file fails on.
            return new FileStream(Path.Combine(LockDirectory, $"{port}.lock"), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (IOException)
        {
            return null;
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }
    }

    private static bool IsFree(int port)
    {
        try
        {
            using var listener = new TcpListener(IPAddress.Loopback, port);
            listener.Start();
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }
}
