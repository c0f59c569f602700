using System.Text.Json.Nodes;

namespace GrantSilo.Identity.Tests;

public sealed class SecretHygieneTests : IDisposable
{
    private readonly IdentityWorld _world = new();

    public void Dispose() => _world.Dispose();

    [Fact]
    public async Task RawToken_NeverAppearsInDetail_CallerToString_OrLogs()
    {
        var auth = _world.Build();
        using var impostor = TestKey.Es256("spire-1");
        var tokens = new List<string>
        {
            _world.AgentToken(),
            _world.PersonToken(),
            _world.AgentToken("spiffe://other.dev/x"),
            _world.AgentToken("not-spiffe"),
            Jwt.Sign(impostor, Jwt.Claims(IdentityWorld.SpiffeIss, "spiffe://acme.dev/x", _world.Now)),
            Jwt.Sign(_world.SpiffeKey, Jwt.Claims(IdentityWorld.SpiffeIss, "spiffe://acme.dev/x", _world.Now, aud: "x")),
            Jwt.Sign(_world.SpiffeKey, Jwt.Claims(IdentityWorld.SpiffeIss, "spiffe://acme.dev/x", _world.Now), kid: "nope"),
            Jwt.Sign(_world.OidcKey, Jwt.Claims("https://evil.test", "u", _world.Now)),
            Jwt.Compose(new JsonObject { ["alg"] = "none" }, Jwt.Claims(IdentityWorld.SpiffeIss, "spiffe://acme.dev/x", _world.Now), null),
            "garbage.garbage-garbage.garbage",
        };

        var results = new List<AuthenticationResult>();
        foreach (var token in tokens)
        {
            results.Add(await auth.AuthenticateAsync(token));
        }

        Assert.Equal(2, results.Count(r => r.IsSuccess));
        var logs = _world.Logs.All;
        Assert.NotEmpty(logs);
        for (var i = 0; i < tokens.Count; i++)
        {
            var token = tokens[i];
            var signature = token.Split('.')[^1];
            var texts = new[] { results[i].Detail ?? "", results[i].ToString(), results[i].Caller?.ToString() ?? "", logs };
            foreach (var text in texts)
            {
                Assert.DoesNotContain(token, text, StringComparison.Ordinal);
                Assert.False(signature.Length > 8 && text.Contains(signature, StringComparison.Ordinal), "a signature leaked");
            }
        }

        // What the logs do carry: the first 8 hex digits of SHA-256(token), to correlate.
        Assert.Contains(Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(tokens[0])))[..8], logs);
    }

    [Fact]
    public async Task Detail_OfAHostileIssuer_IsShortAndPrintable()
    {
        var hostile = "https://evil.test/" + new string('A', 500) + "\u0007\n";
        var token = Jwt.Sign(_world.OidcKey, Jwt.Claims(hostile, "u", _world.Now));
        var result = await _world.Build().AuthenticateAsync(token);

        ResultAssert.Refused(result, AuthenticationFailure.UntrustedIssuer);
        Assert.True(result.Detail!.Length < 200);
        Assert.DoesNotContain('\n', result.Detail);
    }
}
