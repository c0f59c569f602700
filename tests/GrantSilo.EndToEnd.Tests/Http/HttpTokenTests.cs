using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json;
using GrantSilo.Grains.Keys;
using GrantSilo.Identity.Tokens;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.IdentityModel.Tokens;

namespace GrantSilo.EndToEnd.Tests.Http;

/// <summary>One silo host with the HTTP API for the token tests, and its log.</summary>
public sealed class TokenHost : IAsyncLifetime
{
    internal CapturedLogs Logs { get; } = new();

    internal InProcessHttpHost Host { get; private set; } = null!;

    public async Task InitializeAsync() => Host = await InProcessHttpHost.StartAsync(logs: Logs);

    public async Task DisposeAsync() => await Host.DisposeAsync();
}

/// <summary>
/// Credentials as standard tokens over loopback HTTP: issued as RFC 9068 JWTs that a resource server verifies offline
/// from the JWKS; every forged, altered or foreign token refused at the door and logged without the token; DPoP-bound
/// credentials accepted only with a fresh proof by their key for this request; RFC 7662 introspection and RFC 7009
/// revocation; RFC 8414 metadata; and RFC 8693 token exchange through three levels of delegation, whose act chains are
/// the task chain and which refuses every widening.
/// </summary>
public sealed class HttpTokenTests(TokenHost fixture) : IClassFixture<TokenHost>
{
    private const string Issuer = "urn:grantsilo:local";
    private static readonly TestIdentity Identity = TestIdentity.Shared;
    private InProcessHttpHost Host => fixture.Host;
    private readonly string _run = Guid.NewGuid().ToString("N")[..8];
    private string Gateway => Identity.ServiceToken($"gateway-{_run}", "gateway");
    private string Operator => Identity.PersonToken($"ops-{_run}@test.dev", "operator");
    private string Orchestrator => Identity.ServiceToken($"orchestrator-{_run}", "orchestrator");

    private sealed record Answer(HttpStatusCode Status, JsonElement Json, HttpResponseMessage Response);

    private async Task<Answer> SendAsync(HttpMethod method, string path, string? bearer, object? json = null, IReadOnlyDictionary<string, string>? form = null, string? dpop = null, IReadOnlyDictionary<string, string>? headers = null)
    {
        using var request = new HttpRequestMessage(method, new Uri(path, UriKind.Relative));
        if (bearer is not null)
        {
            request.Headers.Authorization = new("Bearer", bearer);
        }
        if (dpop is not null)
        {
            request.Headers.Add("DPoP", dpop);
        }
        foreach (var (name, value) in headers ?? new Dictionary<string, string>())
        {
            request.Headers.Add(name, value);
        }
        request.Content = form is not null ? new FormUrlEncodedContent(form) : json is not null ? JsonContent.Create(json) : null;
        var response = await Host.Http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        return new Answer(response.StatusCode, text.Length == 0 ? default : JsonDocument.Parse(text).RootElement.Clone(), response);
    }

    private async Task<JsonElement> OkAsync(HttpMethod method, string path, string bearer, object body)
    {
        var answer = await SendAsync(method, path, bearer, body);
        Assert.True((int)answer.Status is >= 200 and < 300, $"{path}: {answer.Status} {answer.Json}");
        return answer.Json;
    }

    private async Task<string> AgentAsync(string name, int depth, params string[] permissions)
    {
        await OkAsync(HttpMethod.Post, "/v1/resource-catalog", Operator, new { text = TestCatalogs.Permissive });
        var agent = $"spiffe://e2e.dev/{_run}/{name}";
        await OkAsync(HttpMethod.Post, "/v1/agents", Operator, new { workloadId = agent, owner = "person:ops@test.dev", ceiling = Scope(depth, permissions) });
        return agent;
    }

    private static object Scope(int depth, params string[] permissions) => new { permissions, maxClassification = "internal", delegationDepth = depth };

    private async Task<string> RootTaskAsync(string agent, int depth, params string[] permissions) =>
        (await OkAsync(HttpMethod.Post, "/v1/tasks", Orchestrator, new { person = $"person:p-{_run}@test.dev", agent, scope = Scope(depth, permissions), lifetime = "00:30:00" })).GetProperty("taskId").GetString()!;

    private async Task<(string Token, string CredentialId)> IssueAsync(string agent, string taskId, object? extra = null)
    {
        var token = Identity.AgentToken(agent);
        var session = (await OkAsync(HttpMethod.Post, "/v1/sessions", token, new { agent })).GetProperty("sessionId").GetString()!;
        var body = new Dictionary<string, object?> { ["taskId"] = taskId };
        if (extra is not null)
        {
            foreach (var property in JsonSerializer.SerializeToElement(extra, JsonSerializerOptions.Web).EnumerateObject())
            {
                body[property.Name] = property.Value;
            }
        }
        var issued = await OkAsync(HttpMethod.Post, $"/v1/sessions/{session}/credentials", token, body);
        return (issued.GetProperty("token").GetString()!, issued.GetProperty("credentialId").GetString()!);
    }

    private async Task<(string Token, string Agent)> WorldAsync(string name, object? extra = null)
    {
        var agent = await AgentAsync(name, 0, "doc:read:*");
        var task = await RootTaskAsync(agent, 0, "doc:read:*");
        var (token, _) = await IssueAsync(agent, task, extra);
        return (token, agent);
    }

    private static object Read => new { type = "doc", path = "a" };

    private async Task<JsonElement> AuthorizeAsync(string token, string? dpop = null, string? audience = null) =>
        (await SendAsync(HttpMethod.Post, "/v1/authorize", Gateway, new { token, action = "read", resource = Read }, dpop: dpop,
            headers: audience is null ? null : new Dictionary<string, string> { ["GrantSilo-Audience"] = audience })).Json;

    private async Task<IReadOnlyList<SecurityKey>> PublishedKeysAsync()
    {
        var text = await Host.Http.GetStringAsync(new Uri("/.well-known/jwks.json", UriKind.Relative));
        return [.. new JsonWebKeySet(text).Keys];
    }

    [Fact]
    public async Task Issued_IsAnRfc9068Jwt_ThatMicrosoftIdentityModelVerifiesOfflineFromTheJwks()
    {
        var (token, agent) = await WorldAsync("offline", new { resource = "https://docs.example.com" });

        var header = TokenKit.Part(token, 0);
        Assert.Equal(("ES256", "at+jwt"), (header.GetProperty("alg").GetString(), header.GetProperty("typ").GetString()));
        var (claims, refusal) = await CredentialJwt.ValidateAsync(token, Issuer, "https://docs.example.com", await PublishedKeysAsync(), DateTimeOffset.UtcNow);
        Assert.Null(refusal);
        Assert.Equal(agent, claims!.Subject);
        Assert.Equal(agent, claims.ClientId);
        Assert.Equal(["doc:read:*"], claims.Permissions);
        Assert.Equal($"person:p-{_run}@test.dev", claims.RootPerson);
        Assert.Equal("internal", claims.MaxClassification);
        var task = await OkAsync(HttpMethod.Get, $"/v1/tasks/{claims.TaskId}", Orchestrator, null!);
        Assert.Equal([task.GetProperty("orchestrator").GetString()!], claims.Actors);
        // The wrong audience is refused by the same offline check.
        Assert.NotNull((await CredentialJwt.ValidateAsync(token, Issuer, "https://other.example.com", await PublishedKeysAsync(), DateTimeOffset.UtcNow)).Refusal);
        // ... and online: a token for one resource is accepted only where that resource asks.
        Assert.Equal("allow", (await AuthorizeAsync(token, audience: "https://docs.example.com")).GetProperty("kind").GetString());
    }

    [Fact]
    public async Task WrongAudience_IsRefusedOnline_AtAuthorize_AuthZen_AndIntrospection()
    {
        var (token, _) = await WorldAsync("audience", new { resource = "https://docs.example.com" });
        foreach (var (name, audience) in new[] { ("another resource", "https://other.example.com"), ("no audience stated", null), ("a prefix of it", "https://docs.example.co") })
        {
            var decision = await AuthorizeAsync(token, audience: audience);
            Assert.True((decision.GetProperty("kind").GetString(), decision.GetProperty("reason").GetString()) == ("deny", "audienceMismatch"), $"{name}: {decision}");
            Assert.False(decision.TryGetProperty("taskId", out var task) && task.ValueKind == JsonValueKind.String, $"{name}: a wrong audience learns nothing of the credential");
            var headers = audience is null ? null : new Dictionary<string, string> { ["GrantSilo-Audience"] = audience };
            var evaluation = await SendAsync(HttpMethod.Post, "/access/v1/evaluation", Gateway, new { subject = new { type = "credential", id = token }, action = new { name = "read" }, resource = new { type = "doc", id = "a" } }, headers: headers);
            Assert.False(evaluation.Json.GetProperty("decision").GetBoolean(), name);
            var introspection = await SendAsync(HttpMethod.Post, "/oauth2/introspect", Gateway, form: new Dictionary<string, string> { ["token"] = token }, headers: headers);
            Assert.False(introspection.Json.GetProperty("active").GetBoolean(), name);
        }
        var right = new Dictionary<string, string> { ["GrantSilo-Audience"] = "https://docs.example.com" };
        Assert.True((await SendAsync(HttpMethod.Post, "/access/v1/evaluation", Gateway, new { subject = new { type = "credential", id = token }, action = new { name = "read" }, resource = new { type = "doc", id = "a" } }, headers: right)).Json.GetProperty("decision").GetBoolean());
        Assert.True((await SendAsync(HttpMethod.Post, "/oauth2/introspect", Gateway, form: new Dictionary<string, string> { ["token"] = token }, headers: right)).Json.GetProperty("active").GetBoolean());
    }

    [Fact]
    public async Task Attacks_AreRefusedAtTheDoor_AndLoggedWithoutTheToken()
    {
        var (genuine, _) = await WorldAsync("attacked");
        var claims = TokenKit.Part(genuine, 1).GetRawText();
        var header = TokenKit.Part(genuine, 0);
        var kid = header.GetProperty("kid").GetString()!;
        var keys = Host.Services.GetRequiredService<KeyRing>();
        var signing = await keys.GetSigningKeyAsync(KeyRing.Credentials, CancellationToken.None);
        var next = (await keys.GetPublishedAsync(KeyRing.Credentials, CancellationToken.None)).First(k => k.Kid != kid).Kid;
        using var foreign = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        string WithClaims(Action<Dictionary<string, JsonElement>> change)
        {
            var payload = JsonSerializer.Deserialize<Dictionary<string, JsonElement>>(claims)!;
            change(payload);
            return TokenKit.Sign(signing.Key, header.GetRawText(), JsonSerializer.Serialize(payload));
        }
        var publicKey = JsonSerializer.Serialize((await keys.GetPublishedAsync(KeyRing.Credentials, CancellationToken.None))[0]);
        var hs256Input = Base64UrlEncoder.Encode($$"""{"alg":"HS256","typ":"at+jwt","kid":"{{kid}}"}""") + "." + Base64UrlEncoder.Encode(claims);
        var attacks = new Dictionary<string, (string Token, string Reason)>
        {
            ["wrong signature"] = (genuine[..genuine.LastIndexOf('.')] + "." + Base64UrlEncoder.Encode(RandomNumberGenerator.GetBytes(64)), "its signature does not verify"),
            ["alg none"] = (Base64UrlEncoder.Encode("""{"alg":"none","typ":"at+jwt"}""") + "." + Base64UrlEncoder.Encode(claims) + ".", "not a well-formed JWT"),
            ["HS256 with the public key as the secret"] = (hs256Input + "." + Base64UrlEncoder.Encode(HMACSHA256.HashData(System.Text.Encoding.UTF8.GetBytes(publicKey), System.Text.Encoding.ASCII.GetBytes(hs256Input))), "its algorithm is not ES256"),
            ["unknown kid"] = (TokenKit.Sign(signing.Key, $$"""{"alg":"ES256","typ":"at+jwt","kid":"unknown-{{_run}}"}""", claims), "no published key has its key id"),
            ["swapped kid"] = (TokenKit.Sign(signing.Key, $$"""{"alg":"ES256","typ":"at+jwt","kid":"{{next}}"}""", claims), "its signature does not verify"),
            ["another key ring"] = (TokenKit.Sign(foreign, $$"""{"alg":"ES256","typ":"at+jwt","kid":"{{TokenKit.Thumbprint(foreign)}}"}""", claims), "no published key has its key id"),
            ["another issuer"] = (WithClaims(p => p["iss"] = JsonSerializer.SerializeToElement("https://evil.example.com")), "another issuer signed it"),
            ["expired"] = (WithClaims(p => p["exp"] = JsonSerializer.SerializeToElement(now - 5)), "has expired"),
            ["nbf in the future"] = (WithClaims(p => p["nbf"] = JsonSerializer.SerializeToElement(now + 600)), "not valid yet"),
            ["altered payload"] = (TokenKit.Replace(genuine, 1, claims.Replace("doc:read:*", "doc:write:*", StringComparison.Ordinal)), "its signature does not verify"),
        };
        foreach (var (name, (token, reason)) in attacks)
        {
            var decision = await AuthorizeAsync(token);
            Assert.True(decision.GetProperty("kind").GetString() == "deny", $"{name}: {decision}");
            // A genuine token past its exp is an expired credential, as the grain says; every other one does not verify.
            Assert.True(decision.GetProperty("reason").GetString() == (name == "expired" ? "credentialExpired" : "tokenNotVerified"), $"{name}: {decision}");
            Assert.Contains(reason, decision.GetProperty("detail").GetString()!, StringComparison.Ordinal);
            var evaluation = await SendAsync(HttpMethod.Post, "/access/v1/evaluation", Gateway, new { subject = new { type = "credential", id = token }, action = new { name = "read" }, resource = new { type = "doc", id = "a" } });
            Assert.False(evaluation.Json.GetProperty("decision").GetBoolean(), name);
            var introspection = await SendAsync(HttpMethod.Post, "/oauth2/introspect", Gateway, form: new Dictionary<string, string> { ["token"] = token });
            Assert.Equal(HttpStatusCode.OK, introspection.Status);
            Assert.False(introspection.Json.GetProperty("active").GetBoolean(), name);
        }
        // The genuine token itself is still fine.
        Assert.Equal("allow", (await AuthorizeAsync(genuine)).GetProperty("kind").GetString());
        // Refusals were logged, by reason, and no token (nor its signature) is in the log.
        Assert.Contains(fixture.Logs.Lines, line => line.Contains("A credential token was refused", StringComparison.Ordinal) && line.Contains("another issuer signed it", StringComparison.Ordinal));
        foreach (var token in attacks.Values.Select(a => a.Token).Append(genuine))
        {
            var signature = token[(token.LastIndexOf('.') + 1)..];
            Assert.DoesNotContain(fixture.Logs.Lines, line => line.Contains(token, StringComparison.Ordinal) || signature.Length >= 16 && line.Contains(signature, StringComparison.Ordinal));
        }
    }

    [Fact]
    public async Task ACallerWithoutTheGatewayRole_IsRefusedItself_BeforeAnythingIsSaidAboutTheToken()
    {
        var (genuine, agent) = await WorldAsync("oracle");
        var claims = TokenKit.Part(genuine, 1).GetRawText();
        var keys = Host.Services.GetRequiredService<KeyRing>();
        var signing = await keys.GetSigningKeyAsync(KeyRing.Credentials, CancellationToken.None);
        var payload = JsonSerializer.Deserialize<Dictionary<string, JsonElement>>(claims)!;
        payload["exp"] = JsonSerializer.SerializeToElement(DateTimeOffset.UtcNow.ToUnixTimeSeconds() - 5);
        var tokens = new Dictionary<string, string>
        {
            ["tampered"] = TokenKit.Replace(genuine, 1, claims.Replace("doc:read:*", "doc:write:*", StringComparison.Ordinal)),
            ["expired"] = TokenKit.Sign(signing.Key, TokenKit.Part(genuine, 0).GetRawText(), JsonSerializer.Serialize(payload)),
            ["genuine"] = genuine,
        };
        var person = $"nobody-{_run}@test.dev";
        var callers = new Dictionary<string, string>
        {
            ["the agent itself"] = Identity.AgentToken(agent),
            ["a person without a role"] = Identity.PersonToken(person),
        };
        Task<Answer> AskAsync(string path, string caller, string token) => path switch
        {
            "/v1/authorize" => SendAsync(HttpMethod.Post, path, caller, new { token, action = "read", resource = Read }),
            "/access/v1/evaluation" => SendAsync(HttpMethod.Post, path, caller, new { subject = new { type = "credential", id = token }, action = new { name = "read" }, resource = new { type = "doc", id = "a" } }),
            "/access/v1/evaluations" => SendAsync(HttpMethod.Post, path, caller, new { evaluations = new[] { new { subject = new { type = "credential", id = token }, action = new { name = "read" }, resource = new { type = "doc", id = "a" } } } }),
            "/v1/credentials/introspect" => SendAsync(HttpMethod.Post, path, caller, new { token }),
            _ => SendAsync(HttpMethod.Post, path, caller, form: new Dictionary<string, string> { ["token"] = token }),
        };
        string[] paths = ["/v1/authorize", "/access/v1/evaluation", "/access/v1/evaluations", "/v1/credentials/introspect", "/oauth2/introspect"];

        // Whether the token verifies or not, such a caller learns one thing: it may not ask.
        foreach (var (who, caller) in callers)
        {
            foreach (var (what, token) in tokens)
            {
                foreach (var path in paths)
                {
                    var answer = await AskAsync(path, caller, token);
                    Assert.True(answer.Status == HttpStatusCode.Forbidden, $"{who}, {what} token, {path}: {(int)answer.Status} {answer.Json}");
                    Assert.Equal("urn:grantsilo:problem:forbidden", answer.Json.GetProperty("type").GetString());
                    Assert.DoesNotContain(token, answer.Json.GetRawText(), StringComparison.Ordinal);
                }
            }
        }
        // Refused as the door refuses: logged by operation and caller (never the token).
        Assert.Contains(fixture.Logs.Lines, line => line.Contains("[4103]", StringComparison.Ordinal) && line.Contains("credential.authorize", StringComparison.Ordinal) && line.Contains(person, StringComparison.Ordinal));
        Assert.Contains(fixture.Logs.Lines, line => line.Contains("[4103]", StringComparison.Ordinal) && line.Contains("credential.introspect", StringComparison.Ordinal) && line.Contains(person, StringComparison.Ordinal));

        // A gateway is still told why the token is refused.
        foreach (var (what, token) in tokens.Where(t => t.Key != "genuine"))
        {
            var reason = what == "expired" ? "credentialExpired" : "tokenNotVerified";
            var decision = await AskAsync("/v1/authorize", Gateway, token);
            Assert.True(decision.Status == HttpStatusCode.OK && decision.Json.GetProperty("reason").GetString() == reason, $"{what}: {decision.Json}");
            var evaluation = await AskAsync("/access/v1/evaluation", Gateway, token);
            Assert.Equal(HttpStatusCode.OK, evaluation.Status);
            Assert.False(evaluation.Json.GetProperty("decision").GetBoolean(), what);
            var evaluations = await AskAsync("/access/v1/evaluations", Gateway, token);
            Assert.Equal(HttpStatusCode.OK, evaluations.Status);
            Assert.False(evaluations.Json.GetProperty("evaluations")[0].GetProperty("decision").GetBoolean(), what);
            var introspection = await AskAsync("/v1/credentials/introspect", Gateway, token);
            Assert.True(introspection.Status == HttpStatusCode.OK && !introspection.Json.GetProperty("active").GetBoolean(), $"{what}: {introspection.Json}");
            var oauth = await AskAsync("/oauth2/introspect", Gateway, token);
            Assert.True(oauth.Status == HttpStatusCode.OK && !oauth.Json.GetProperty("active").GetBoolean(), $"{what}: {oauth.Json}");
        }
    }

    [Fact]
    public async Task Revoked_IsRefusedOnlineAtOnce_ThoughAnOfflineVerifierAcceptsItUntilExpiry()
    {
        var (token, _) = await WorldAsync("revoked");
        var active = await SendAsync(HttpMethod.Post, "/oauth2/introspect", Gateway, form: new Dictionary<string, string> { ["token"] = token });
        Assert.True(active.Json.GetProperty("active").GetBoolean());
        Assert.Equal("no-store", active.Response.Headers.CacheControl?.ToString());

        var revoked = await SendAsync(HttpMethod.Post, "/oauth2/revoke", Identity.AgentToken(TokenKit.Part(token, 1).GetProperty("sub").GetString()!), form: new Dictionary<string, string> { ["token"] = token });
        Assert.Equal(HttpStatusCode.OK, revoked.Status);

        var decision = await AuthorizeAsync(token);
        Assert.Equal(("deny", "credentialRevoked"), (decision.GetProperty("kind").GetString(), decision.GetProperty("reason").GetString()));
        Assert.False((await SendAsync(HttpMethod.Post, "/oauth2/introspect", Gateway, form: new Dictionary<string, string> { ["token"] = token })).Json.GetProperty("active").GetBoolean());
        // The documented bound: offline, the signature and times are all there is, so it still verifies until it expires.
        Assert.Null((await CredentialJwt.ValidateAsync(token, Issuer, "urn:grantsilo:any-resource", await PublishedKeysAsync(), DateTimeOffset.UtcNow)).Refusal);
        // An unknown or malformed token is simply not active, and revoking it is not an error (RFC 7009).
        Assert.False((await SendAsync(HttpMethod.Post, "/oauth2/introspect", Gateway, form: new Dictionary<string, string> { ["token"] = "not-a-token" })).Json.GetProperty("active").GetBoolean());
        Assert.Equal(HttpStatusCode.OK, (await SendAsync(HttpMethod.Post, "/oauth2/revoke", Gateway, form: new Dictionary<string, string> { ["token"] = "not-a-token" })).Status);
    }

    [Fact]
    public async Task Introspection_OfAnActiveToken_SaysWhatItHolds()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var (token, agent) = await WorldAsync("introspected");
        var answer = (await SendAsync(HttpMethod.Post, "/oauth2/introspect", Gateway, form: new Dictionary<string, string> { ["token"] = token })).Json;
        Assert.True(answer.GetProperty("active").GetBoolean());
        Assert.Equal(agent, answer.GetProperty("sub").GetString());
        Assert.Equal("doc:read:*", answer.GetProperty("scope").GetString());
        Assert.Equal("Bearer", answer.GetProperty("token_type").GetString());
        Assert.Equal(Issuer, answer.GetProperty("iss").GetString());
        Assert.Equal(TokenKit.Part(token, 1).GetProperty("jti").GetString(), answer.GetProperty("jti").GetString());
        Assert.True(answer.TryGetProperty("act", out var act) && act.GetProperty("sub").GetString()!.Length > 0);
        Assert.DoesNotContain(token, answer.GetRawText(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Dpop_ABoundToken_IsAcceptedOnlyWithAFreshProofByItsKey_ForThisRequest()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var thief = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var (token, _) = await WorldAsync("bound", new { dpopKeyThumbprint = TokenKit.Thumbprint(key) });
        Assert.Equal(TokenKit.Thumbprint(key), TokenKit.Part(token, 1).GetProperty("cnf").GetProperty("jkt").GetString());
        var authorize = new Uri(Host.BaseAddress, "/v1/authorize");

        var stolen = await AuthorizeAsync(token);
        Assert.Equal(("deny", "dpopProofInvalid"), (stolen.GetProperty("kind").GetString(), stolen.GetProperty("reason").GetString()));
        var proof = TokenKit.Proof(key, "POST", authorize, token);
        Assert.Equal("allow", (await AuthorizeAsync(token, proof)).GetProperty("kind").GetString());

        var refusals = new Dictionary<string, string>
        {
            ["replayed jti"] = proof,
            ["another key"] = TokenKit.Proof(thief, "POST", authorize, token),
            ["another URL"] = TokenKit.Proof(key, "POST", new Uri(Host.BaseAddress, "/v1/credentials/introspect"), token),
            ["another method"] = TokenKit.Proof(key, "GET", authorize, token),
            ["another token"] = TokenKit.Proof(key, "POST", authorize, token + "x"),
        };
        foreach (var (name, refused) in refusals)
        {
            var decision = await AuthorizeAsync(token, refused);
            Assert.True(decision.GetProperty("reason").GetString() == "dpopProofInvalid", $"{name}: {decision}");
        }
        // A gateway forwards the proof the agent made for the gateway's request, naming that request.
        var resourceServer = new Uri("https://mcp.example.com/mcp");
        var forwarded = new Dictionary<string, string> { ["GrantSilo-DPoP-Method"] = "POST", ["GrantSilo-DPoP-Url"] = resourceServer.ToString() };
        var forwardedProof = TokenKit.Proof(key, "POST", resourceServer, token);
        var relayed = (await SendAsync(HttpMethod.Post, "/v1/authorize", Gateway, new { token, action = "read", resource = Read }, dpop: forwardedProof, headers: forwarded)).Json;
        Assert.Equal("allow", relayed.GetProperty("kind").GetString());
        var elsewhere = new Dictionary<string, string> { ["GrantSilo-DPoP-Method"] = "POST", ["GrantSilo-DPoP-Url"] = "https://other.example.com/mcp" };
        var misnamed = (await SendAsync(HttpMethod.Post, "/v1/authorize", Gateway, new { token, action = "read", resource = Read }, dpop: TokenKit.Proof(key, "POST", resourceServer, token), headers: elsewhere)).Json;
        Assert.Equal("dpopProofInvalid", misnamed.GetProperty("reason").GetString());

        // AuthZEN and introspection check the proof for their own request the same way.
        var evaluation = new Uri(Host.BaseAddress, "/access/v1/evaluation");
        var body = new { subject = new { type = "credential", id = token }, action = new { name = "read" }, resource = new { type = "doc", id = "a" } };
        Assert.False((await SendAsync(HttpMethod.Post, "/access/v1/evaluation", Gateway, body)).Json.GetProperty("decision").GetBoolean());
        Assert.True((await SendAsync(HttpMethod.Post, "/access/v1/evaluation", Gateway, body, dpop: TokenKit.Proof(key, "POST", evaluation, token))).Json.GetProperty("decision").GetBoolean());
        var introspect = new Uri(Host.BaseAddress, "/oauth2/introspect");
        var form = new Dictionary<string, string> { ["token"] = token };
        Assert.False((await SendAsync(HttpMethod.Post, "/oauth2/introspect", Gateway, form: form, dpop: TokenKit.Proof(thief, "POST", introspect, token))).Json.GetProperty("active").GetBoolean());
        var bound = (await SendAsync(HttpMethod.Post, "/oauth2/introspect", Gateway, form: form, dpop: TokenKit.Proof(key, "POST", introspect, token))).Json;
        Assert.True(bound.GetProperty("active").GetBoolean());
        Assert.Equal(("DPoP", TokenKit.Thumbprint(key)), (bound.GetProperty("token_type").GetString(), bound.GetProperty("cnf").GetProperty("jkt").GetString()));
    }

    [Fact]
    public async Task Metadata_NamesTheEndpointsAndKeys()
    {
        var metadata = JsonDocument.Parse(await Host.Http.GetStringAsync(new Uri("/.well-known/oauth-authorization-server", UriKind.Relative))).RootElement;
        Assert.Equal(Issuer, metadata.GetProperty("issuer").GetString());
        Assert.EndsWith("/.well-known/jwks.json", metadata.GetProperty("jwks_uri").GetString(), StringComparison.Ordinal);
        Assert.EndsWith("/oauth2/token", metadata.GetProperty("token_endpoint").GetString(), StringComparison.Ordinal);
        Assert.EndsWith("/oauth2/introspect", metadata.GetProperty("introspection_endpoint").GetString(), StringComparison.Ordinal);
        Assert.EndsWith("/oauth2/revoke", metadata.GetProperty("revocation_endpoint").GetString(), StringComparison.Ordinal);
        Assert.Equal(["urn:ietf:params:oauth:grant-type:token-exchange"], metadata.GetProperty("grant_types_supported").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal(["ES256"], metadata.GetProperty("dpop_signing_alg_values_supported").EnumerateArray().Select(e => e.GetString()));
    }

    private Task<Answer> ExchangeAsync(string callerAgent, string subjectToken, string actorAgent, Dictionary<string, string>? extra = null)
    {
        var form = new Dictionary<string, string>
        {
            ["grant_type"] = "urn:ietf:params:oauth:grant-type:token-exchange",
            ["subject_token"] = subjectToken,
            ["subject_token_type"] = "urn:ietf:params:oauth:token-type:access_token",
            ["actor_token"] = Identity.AgentToken(actorAgent),
            ["actor_token_type"] = "urn:ietf:params:oauth:token-type:jwt",
        };
        foreach (var (name, value) in extra ?? [])
        {
            form[name] = value;
        }
        return SendAsync(HttpMethod.Post, "/oauth2/token", Identity.AgentToken(callerAgent), form: form);
    }

    private static void AssertRefused(Answer answer, string error, string grantSiloError)
    {
        Assert.True(answer.Status == HttpStatusCode.BadRequest, answer.Json.ToString());
        Assert.Equal(error, answer.Json.GetProperty("error").GetString());
        Assert.Equal(grantSiloError, answer.Json.GetProperty("grantsilo_error").GetString());
    }

    [Fact]
    public async Task Exchange_ThreeLevels_ActChainsAreTheTaskChain_AndEveryWideningIsRefused()
    {
        var planner = await AgentAsync("planner", 2, "doc:read:*", "doc:write:*");
        var lead = await AgentAsync("lead", 1, "doc:read:*", "doc:write:*");
        var worker = await AgentAsync("worker", 0, "doc:read:*", "doc:write:*");
        var root = await RootTaskAsync(planner, 2, "doc:read:*", "doc:write:*");
        var (plannerToken, _) = await IssueAsync(planner, root);

        // Widening the scope, the life or the depth is refused with GrantSilo's typed errors.
        AssertRefused(await ExchangeAsync(planner, plannerToken, lead, new() { ["scope"] = "doc:read:* doc:delete:*", ["delegation_depth"] = "1" }), "invalid_scope", "ScopeExceedsParent");
        AssertRefused(await ExchangeAsync(planner, plannerToken, lead, new() { ["scope"] = "doc:read:*", ["delegation_depth"] = "2" }), "invalid_scope", "ScopeExceedsParent");
        AssertRefused(await ExchangeAsync(planner, plannerToken, lead, new() { ["scope"] = "doc:read:*", ["requested_lifetime"] = "86400" }), "invalid_request", "LifetimeExceedsParent");
        AssertRefused(await ExchangeAsync(planner, plannerToken, lead, new() { ["scope"] = "doc:read:*", ["max_classification"] = "restricted" }), "invalid_scope", "ScopeExceedsParent");
        // Only the planner itself can exchange its credential.
        var notMine = await ExchangeAsync(lead, plannerToken, lead, new() { ["scope"] = "doc:read:*" });
        Assert.NotEqual(HttpStatusCode.OK, notMine.Status);

        var first = await ExchangeAsync(planner, plannerToken, lead, new() { ["scope"] = "doc:read:* doc:write:*", ["delegation_depth"] = "1", ["requested_lifetime"] = "600", ["resource"] = "https://docs.example.com" });
        Assert.True(first.Status == HttpStatusCode.OK, first.Json.ToString());
        Assert.Equal(("Bearer", "urn:ietf:params:oauth:token-type:access_token"), (first.Json.GetProperty("token_type").GetString(), first.Json.GetProperty("issued_token_type").GetString()));
        var leadToken = first.Json.GetProperty("access_token").GetString()!;

        AssertRefused(await ExchangeAsync(lead, leadToken, worker, new() { ["scope"] = "doc:read:*", ["delegation_depth"] = "1" }), "invalid_scope", "ScopeExceedsParent");
        var second = await ExchangeAsync(lead, leadToken, worker, new() { ["scope"] = "doc:read:*", ["requested_lifetime"] = "300", ["resource"] = "https://docs.example.com" });
        Assert.True(second.Status == HttpStatusCode.OK, second.Json.ToString());
        var workerToken = second.Json.GetProperty("access_token").GetString()!;
        // At the bottom, nothing more can be delegated.
        AssertRefused(await ExchangeAsync(worker, workerToken, worker, new() { ["scope"] = "doc:read:*" }), "invalid_scope", "DelegationForbidden");

        var keys = await PublishedKeysAsync();
        foreach (var (token, agent) in new[] { (leadToken, lead), (workerToken, worker) })
        {
            var (claims, refusal) = await CredentialJwt.ValidateAsync(token, Issuer, "https://docs.example.com", keys, DateTimeOffset.UtcNow);
            Assert.Null(refusal);
            Assert.Equal(agent, claims!.Subject);
            // act, nearest first, is the task chain above the agent, up to the orchestrator.
            var task = await OkAsync(HttpMethod.Get, $"/v1/tasks/{claims.TaskId}", Orchestrator, null!);
            var chain = task.GetProperty("ancestorAgents").EnumerateArray().Select(e => e.GetString()!).Reverse().Append(task.GetProperty("orchestrator").GetString()!).ToList();
            Assert.Equal(chain, claims.Actors);
        }
        var bottom = (await CredentialJwt.ValidateAsync(workerToken, Issuer, "https://docs.example.com", keys, DateTimeOffset.UtcNow)).Claims!;
        Assert.Equal(3, bottom.Actors.Count);
        Assert.Equal([lead, planner], bottom.Actors.Take(2));
        Assert.Equal(["doc:read:*"], bottom.Permissions);
        // The worker's credential works online, and narrowly.
        Assert.Equal("allow", (await AuthorizeAsync(workerToken, audience: "https://docs.example.com")).GetProperty("kind").GetString());
        var write = (await SendAsync(HttpMethod.Post, "/v1/authorize", Gateway, new { token = workerToken, action = "write", resource = Read }, headers: new Dictionary<string, string> { ["GrantSilo-Audience"] = "https://docs.example.com" })).Json;
        Assert.Equal(("deny", "scopeDoesNotCover"), (write.GetProperty("kind").GetString(), write.GetProperty("reason").GetString()));
    }

    [Fact]
    public async Task Exchange_ByAnyoneButTheTokensAgent_IsRefusedItself_BeforeAnythingIsSaidAboutTheToken()
    {
        var planner = await AgentAsync("exchanger", 1, "doc:read:*");
        var stranger = await AgentAsync("stranger", 1, "doc:read:*");
        var worker = await AgentAsync("exchanged", 0, "doc:read:*");
        var root = await RootTaskAsync(planner, 1, "doc:read:*");
        var (genuine, _) = await IssueAsync(planner, root);
        var claims = TokenKit.Part(genuine, 1).GetRawText();
        var tampered = TokenKit.Replace(genuine, 1, claims.Replace("\"doc:read:*\"", "\"doc:read:a\"", StringComparison.Ordinal));
        Assert.NotEqual(genuine, tampered);
        var form = (string token) => new Dictionary<string, string>
        {
            ["grant_type"] = "urn:ietf:params:oauth:grant-type:token-exchange",
            ["subject_token"] = token,
            ["subject_token_type"] = "urn:ietf:params:oauth:token-type:access_token",
            ["actor_token"] = Identity.AgentToken(worker),
            ["actor_token_type"] = "urn:ietf:params:oauth:token-type:jwt",
            ["scope"] = "doc:read:*",
        };

        // Another agent, a person and an orchestrator get one answer whether the token is genuine or forged: they may not
        // exchange it. Before, a forged token was refused as invalid_grant and a genuine one went on to the grain.
        foreach (var (who, caller) in new[] { ("another agent", Identity.AgentToken(stranger)), ("a person", Identity.PersonToken($"nobody-{_run}@test.dev")), ("an orchestrator", Orchestrator) })
        {
            foreach (var (what, token) in new[] { ("genuine", genuine), ("forged", tampered), ("not a token", "gs1.nothing") })
            {
                var answer = await SendAsync(HttpMethod.Post, "/oauth2/token", caller, form: form(token));
                Assert.True(answer.Status == HttpStatusCode.Forbidden, $"{who}, {what}: {(int)answer.Status} {answer.Json}");
                Assert.Equal("urn:grantsilo:problem:forbidden", answer.Json.GetProperty("type").GetString());
                Assert.DoesNotContain(token, answer.Json.GetRawText(), StringComparison.Ordinal);
            }
        }

        // The token's own agent is still told why a forged token is refused, and exchanges a genuine one.
        var forged = await ExchangeAsync(planner, tampered, worker, new() { ["scope"] = "doc:read:*" });
        Assert.True(forged.Status == HttpStatusCode.BadRequest && forged.Json.GetProperty("error").GetString() == "invalid_grant", forged.Json.ToString());
        var exchanged = await ExchangeAsync(planner, genuine, worker, new() { ["scope"] = "doc:read:*" });
        Assert.True(exchanged.Status == HttpStatusCode.OK, exchanged.Json.ToString());
    }

    [Fact]
    public async Task Exchange_HonoursMayAct_EvenOnTheDelegationRoute_AndBindsTheResultToTheWorkersKey()
    {
        using var workerKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var planner = await AgentAsync("may-planner", 1, "doc:read:*");
        var chosen = await AgentAsync("may-chosen", 0, "doc:read:*");
        var other = await AgentAsync("may-other", 0, "doc:read:*");
        var root = await RootTaskAsync(planner, 1, "doc:read:*");
        var (plannerToken, _) = await IssueAsync(planner, root, new { mayAct = chosen });
        Assert.Equal(chosen, TokenKit.Part(plannerToken, 1).GetProperty("may_act").GetProperty("sub").GetString());

        var refused = await ExchangeAsync(planner, plannerToken, other);
        AssertRefused(refused, "invalid_grant", "InvalidProof");
        // The server enforces may_act, not only the token endpoint: the delegation route, proved with the same
        // credential and naming another agent, is refused too.
        var bypass = await SendAsync(HttpMethod.Post, $"/v1/tasks/{root}/delegations", Identity.AgentToken(planner), new { proofToken = plannerToken, agent = other, scope = Scope(0, "doc:read:*"), lifetime = "00:05:00" });
        Assert.True(bypass.Status == HttpStatusCode.Forbidden, $"{bypass.Status} {bypass.Json}");
        Assert.Equal("urn:grantsilo:problem:invalid-proof", bypass.Json.GetProperty("type").GetString());

        var exchanged = await ExchangeAsync(planner, plannerToken, chosen, new() { ["dpop_jkt"] = TokenKit.Thumbprint(workerKey) });
        Assert.True(exchanged.Status == HttpStatusCode.OK, exchanged.Json.ToString());
        Assert.Equal("DPoP", exchanged.Json.GetProperty("token_type").GetString());
        var token = exchanged.Json.GetProperty("access_token").GetString()!;
        Assert.Equal(TokenKit.Thumbprint(workerKey), TokenKit.Part(token, 1).GetProperty("cnf").GetProperty("jkt").GetString());
        Assert.Equal("deny", (await AuthorizeAsync(token)).GetProperty("kind").GetString());
        Assert.Equal("allow", (await AuthorizeAsync(token, TokenKit.Proof(workerKey, "POST", new Uri(Host.BaseAddress, "/v1/authorize"), token))).GetProperty("kind").GetString());
    }
}
