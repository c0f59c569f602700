using System.Net;

namespace GrantSilo.EndToEnd.Tests.Http;

/// <summary>
/// A loopback-only API answers only to loopback names: a web page that rebinds a name of its own to 127.0.0.1 (DNS
/// rebinding) is same-origin with whatever answers there, and the console's development sign-in hands out any role. A
/// proxy in front of the silo is let through by naming its hosts in <c>AllowedHosts</c>.
/// </summary>
public sealed class HttpHostNameTests
{
    private static async Task<HttpStatusCode> GetAsync(InProcessHttpHost host, string hostHeader, string path = "/health/live")
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(path, UriKind.Relative));
        request.Headers.Host = hostHeader;
        using var response = await host.Http.SendAsync(request);
        return response.StatusCode;
    }

    [Fact]
    public async Task LoopbackApi_RefusesARequestNamingAnotherHost_AndServesLoopbackNames()
    {
        await using var host = await InProcessHttpHost.StartAsync();
        var port = host.BaseAddress.Port;

        Assert.Equal(HttpStatusCode.BadRequest, await GetAsync(host, $"rebind.attacker.example:{port}"));
        Assert.Equal(HttpStatusCode.BadRequest, await GetAsync(host, $"rebind.attacker.example:{port}", "/.well-known/jwks.json"));
        Assert.Equal(HttpStatusCode.OK, await GetAsync(host, $"127.0.0.1:{port}"));
        Assert.Equal(HttpStatusCode.OK, await GetAsync(host, $"localhost:{port}"));
        Assert.Equal(HttpStatusCode.OK, await GetAsync(host, $"[::1]:{port}"));
    }

    [Fact]
    public async Task LoopbackApi_BehindAProxy_ServesTheHostsAllowedHostsNames()
    {
        await using var host = await InProcessHttpHost.StartAsync(new Dictionary<string, string?> { ["AllowedHosts"] = "grantsilo.example.com" });
        var port = host.BaseAddress.Port;

        Assert.Equal(HttpStatusCode.OK, await GetAsync(host, "grantsilo.example.com"));
        Assert.Equal(HttpStatusCode.BadRequest, await GetAsync(host, $"rebind.attacker.example:{port}"));
    }
}
