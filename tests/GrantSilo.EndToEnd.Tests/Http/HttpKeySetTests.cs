using System.Net;
using System.Text.Json;

namespace GrantSilo.EndToEnd.Tests.Http;

/// <summary><c>/.well-known/jwks.json</c> on the real process: the credential ring's public keys, to anyone, and nothing private.</summary>
[Collection(HttpSiloCollection.Name)]
public sealed class HttpKeySetTests(HttpSilo silo)
{
    [Fact]
    public async Task KeySet_PublishesTheSigningKeyAndTheNext_PublicHalvesOnly()
    {
        var answer = await silo.SendAsync(HttpMethod.Get, "/.well-known/jwks.json", token: null);

        Assert.True(answer.Status == HttpStatusCode.OK, answer.ToString());
        Assert.Equal("application/jwk-set+json", answer.MediaType);
        var keys = answer.Json.GetProperty("keys").EnumerateArray().ToList();
        Assert.Equal(2, keys.Count);
        foreach (var key in keys)
        {
            Assert.Equal("EC", key.GetProperty("kty").GetString());
            Assert.Equal("P-256", key.GetProperty("crv").GetString());
            Assert.Equal("ES256", key.GetProperty("alg").GetString());
            Assert.Equal(43, key.GetProperty("x").GetString()!.Length);
            Assert.False(key.TryGetProperty("d", out _), "a private key was published");
        }
        Assert.NotEqual(keys[0].GetProperty("kid").GetString(), keys[1].GetProperty("kid").GetString());
        // The same answer again: the ring is made once, not per request.
        var again = await silo.SendAsync(HttpMethod.Get, "/.well-known/jwks.json", token: null);
        Assert.Equal(answer.Json.GetProperty("keys").GetRawText(), again.Json.GetProperty("keys").GetRawText());
    }
}
