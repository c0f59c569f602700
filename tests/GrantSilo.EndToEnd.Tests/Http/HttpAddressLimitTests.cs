using System.Globalization;
using System.Net;
using GrantSilo.EndToEnd.Tests.Support;

namespace GrantSilo.EndToEnd.Tests.Http;

/// <summary>
/// The per-address limit applies before any token is verified: a flood of made-up tokens from one address is refused
/// with 429 without a signature check each (a silo of its own, with a tiny limit).
/// </summary>
[Collection(HttpSiloCollection.Name)]
public sealed class HttpAddressLimitTests
{
    [Fact]
    public async Task AFloodFromOneAddress_IsLimitedBeforeTokensAreVerified()
    {
        var httpPort = Ports.Free();
        var environment = new Dictionary<string, string>(TestIdentity.Shared.SiloEnvironment())
        {
            ["GrantSilo__Silo__SiloPort"] = Ports.Free().ToString(CultureInfo.InvariantCulture),
            ["GrantSilo__Silo__GatewayPort"] = Ports.Free().ToString(CultureInfo.InvariantCulture),
            ["GrantSilo__Http__Port"] = httpPort.ToString(CultureInfo.InvariantCulture),
            ["GrantSilo__Http__AddressPermitsPerSecond"] = "1",
            ["GrantSilo__Http__AddressBurst"] = "10",
        };
        await using var silo = ChildProcess.Start("address-limit", ChildProcess.BuiltDll("SiloHostDll"), environment);
        await silo.WaitForOutputAsync("GrantSilo silo started", TimeSpan.FromSeconds(90));
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{httpPort}") };

        // Made-up tokens, each different, that would each cost a signature check.
        var forged = TestIdentity.Shared.PersonToken("eve@test.dev", "operator")[..^8];
        var statuses = new List<HttpStatusCode>();
        for (var i = 0; i < 40; i++)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, new Uri("/v1/cascades/pending", UriKind.Relative));
            request.Headers.Authorization = new("Bearer", forged + i.ToString("D8", CultureInfo.InvariantCulture));
            using var response = await http.SendAsync(request);
            statuses.Add(response.StatusCode);
            if (response.StatusCode == HttpStatusCode.TooManyRequests)
            {
                Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
                Assert.Contains("This address", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
            }
        }
        var verified = statuses.Count(s => s == HttpStatusCode.Unauthorized);
        Assert.InRange(verified, 10, 20);
        Assert.Equal(40 - verified, statuses.Count(s => s == HttpStatusCode.TooManyRequests));
        // Only the requests let through were verified (and refused, and logged).
        await Eventually.HoldsAsync(() => Task.FromResult(CountOf(silo.Output, "unauthenticated caller") == verified), TimeSpan.FromSeconds(10), "every verified request logged");
        await silo.StopAsync(TimeSpan.FromSeconds(30));
    }

    private static int CountOf(string text, string what)
    {
        var count = 0;
        for (var at = text.IndexOf(what, StringComparison.Ordinal); at >= 0; at = text.IndexOf(what, at + what.Length, StringComparison.Ordinal))
        {
            count++;
        }
        return count;
    }
}
