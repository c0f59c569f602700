using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;
using GrantSilo.EndToEnd.Tests.Support;

namespace GrantSilo.EndToEnd.Tests;

/// <summary>
/// grantctl sends the caller's bearer token with every request, so it never sends it in the clear over a network: plain
/// http is for a silo on this machine only. What grantctl would put on the network is read at a recording proxy on
/// loopback (grantctl's HTTP client honours <c>http_proxy</c> and <c>https_proxy</c>), so no outside host is needed.
/// </summary>
public sealed class GrantctlTransportTests : IDisposable
{
    private const string Token = "eyJhbGciOiJFUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJwZXJzb246b3BzIn0.c2lnbmF0dXJlLW9mLXRoZS1vcGVyYXRvcg";
    private readonly Grantctl _grantctl = new();
    private readonly RecordingProxy _proxy = new();

    public GrantctlTransportTests()
    {
        foreach (var name in new[] { "http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY" })
        {
            _grantctl.Environment[name] = _proxy.Url;
        }
        _grantctl.Environment["no_proxy"] = "";
        _grantctl.Environment["NO_PROXY"] = "";
    }

    public void Dispose()
    {
        _proxy.Dispose();
        _grantctl.Dispose();
    }

    [Fact]
    public async Task PlainHttpBeyondLoopback_IsRefusedAsUsage_BeforeTheTokenLeavesGrantctl()
    {
        var tokenFile = Path.Combine(_grantctl.Home, "operator.jwt");
        await File.WriteAllTextAsync(tokenFile, Token);

        var login = await _grantctl.RunAsync(null, "login", "--url", "http://grantsilo.invalid:8080", "--token-file", tokenFile);
        var command = await _grantctl.RunAsync(Token, "agents", "get", "spiffe://e2e.dev/agent/a", "--url", "http://grantsilo.invalid:8080/");
        _grantctl.Environment["GRANTCTL_URL"] = "http://user:pass@grantsilo.invalid:8080";
        var fromEnvironment = await _grantctl.RunAsync(Token, "cascades");

        foreach (var run in new[] { login, command, fromEnvironment })
        {
            Assert.True(run.Exit == 2, run.ToString());
            Assert.Contains("plain http beyond this machine", run.Errors, StringComparison.Ordinal);
            Assert.Contains("https", run.Errors, StringComparison.Ordinal);
            Assert.DoesNotContain(Token, run.Output + run.Errors, StringComparison.Ordinal);
            Assert.DoesNotContain("pass", run.Errors, StringComparison.Ordinal);
        }
        Assert.False(File.Exists(_grantctl.ConfigFile), "The login was saved although it was refused.");
        Assert.Empty(_proxy.Received);
    }

    [Fact]
    public async Task HttpsBeyondLoopback_IsUsed_AndTheTokenTravelsOnlyInsideTls()
    {
        var run = await _grantctl.RunAsync(Token, "agents", "get", "spiffe://e2e.dev/agent/a", "--url", "https://grantsilo.invalid:8443");

        // The proxy refuses the tunnel, so grantctl reports GrantSilo unreachable; what it asked for was a tunnel only.
        Assert.True(run.Exit == 5, run.ToString());
        var request = Assert.Single(_proxy.Received);
        Assert.StartsWith("CONNECT grantsilo.invalid:8443 ", request, StringComparison.Ordinal);
        Assert.DoesNotContain(Token, request, StringComparison.Ordinal);
        Assert.DoesNotContain("Authorization", request, StringComparison.OrdinalIgnoreCase);
    }

    /// <summary>A forward proxy on loopback that records each request's head and refuses it (502).</summary>
    private sealed class RecordingProxy : IDisposable
    {
        private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
        private readonly CancellationTokenSource _stop = new();
        private readonly ConcurrentQueue<string> _received = new();
        private readonly Task _accepting;

        public RecordingProxy()
        {
            _listener.Start();
            _accepting = AcceptAsync();
        }

        public string Url => $"http://127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}";

        public IReadOnlyCollection<string> Received => [.. _received];

        public void Dispose()
        {
            _stop.Cancel();
            _listener.Stop();
            try
            {
                _accepting.Wait(TimeSpan.FromSeconds(10));
            }
            catch (AggregateException)
            {
            }
            _stop.Dispose();
        }

        private async Task AcceptAsync()
        {
            while (!_stop.IsCancellationRequested)
            {
                TcpClient client;
                try
                {
                    client = await _listener.AcceptTcpClientAsync(_stop.Token);
                }
                catch (Exception stopped) when (stopped is OperationCanceledException or SocketException or ObjectDisposedException)
                {
                    return;
                }
                using (client)
                {
                    var stream = client.GetStream();
                    var head = new StringBuilder();
                    var buffer = new byte[4096];
                    using var deadline = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
                    deadline.CancelAfter(TimeSpan.FromSeconds(10));
                    try
                    {
                        while (!head.ToString().Contains("\r\n\r\n", StringComparison.Ordinal) && head.Length < 64 * 1024)
                        {
                            var read = await stream.ReadAsync(buffer, deadline.Token);
                            if (read == 0)
                            {
                                break;
                            }
                            head.Append(Encoding.Latin1.GetString(buffer, 0, read));
                        }
                        _received.Enqueue(head.ToString());
                        await stream.WriteAsync("HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"u8.ToArray(), deadline.Token);
                    }
                    catch (Exception gone) when (gone is IOException or OperationCanceledException)
                    {
                        _received.Enqueue(head.ToString());
                    }
                }
            }
        }
    }
}
