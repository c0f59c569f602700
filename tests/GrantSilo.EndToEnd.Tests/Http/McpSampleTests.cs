using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json;
using GrantSilo.EndToEnd.Tests.Support;
using GrantSilo.Samples.McpResourceServer;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Logging;

namespace GrantSilo.EndToEnd.Tests.Http;

/// <summary>
/// The sample MCP resource server (<c>samples/GrantSilo.McpResourceServer</c>) in front of GrantSilo, both on loopback:
/// it publishes RFC 9728 metadata naming GrantSilo; it accepts only DPoP-bound GrantSilo tokens for its own audience,
/// verified offline, with a fresh proof by the bound key; it enforces the token's scope; and it asks GrantSilo online
/// for its high-risk tool, so a revocation counts there at once while low-risk tools run offline until expiry.
/// </summary>
public sealed class McpSampleTests(TokenHost fixture) : IClassFixture<TokenHost>, IAsyncLifetime
{
    private static readonly TestIdentity Identity = TestIdentity.Shared;
    private readonly string _run = Guid.NewGuid().ToString("N")[..8];
    private readonly HttpClient _grantSilo = new();
    private WebApplication _server = null!;
    private HttpClient _mcp = null!;
    private string _resource = "";

    public async Task InitializeAsync()
    {
        var port = Ports.Free();
        _resource = $"http://127.0.0.1:{port}";
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { EnvironmentName = "Production" });
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls(_resource);
        _server = builder.Build();
        McpResourceServer.Map(_server, new ResourceServerOptions
        {
            Resource = _resource,
            GrantSilo = fixture.Host.BaseAddress,
            Issuer = "urn:grantsilo:local",
            GatewayToken = () => Identity.ServiceToken($"mcp-{_run}", "gateway"),
            Tools = [new Tool("read_document", "doc", "read", HighRisk: false), new Tool("write_document", "doc", "write", HighRisk: true), new Tool("delete_document", "doc", "delete", HighRisk: true)],
        }, _grantSilo, TimeProvider.System);
        await _server.StartAsync();
        _mcp = new HttpClient { BaseAddress = new Uri(_resource) };
    }

    public async Task DisposeAsync()
    {
        _mcp.Dispose();
        _grantSilo.Dispose();
        await _server.StopAsync();
        await _server.DisposeAsync();
    }

    private async Task<JsonElement> GrantSiloAsync(string path, string bearer, object body)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(fixture.Host.BaseAddress, path)) { Content = JsonContent.Create(body) };
        request.Headers.Authorization = new("Bearer", bearer);
        using var response = await _grantSilo.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"{path}: {response.StatusCode} {text}");
        return JsonDocument.Parse(text).RootElement.Clone();
    }

    // An agent that may read and delete documents, and its DPoP-bound credential for the resource given.
    private async Task<(string Token, string CredentialId, string Agent)> CredentialAsync(ECDsa key, string resource, params string[] permissions)
    {
        var operatorToken = Identity.PersonToken($"ops-{_run}@test.dev", "operator");
        await GrantSiloAsync("/v1/resource-catalog", operatorToken, new { text = TestCatalogs.Permissive });
        var agent = $"spiffe://e2e.dev/{_run}/mcp-agent-{Guid.NewGuid():N}";
        var scope = new { permissions, maxClassification = "internal", delegationDepth = 0 };
        await GrantSiloAsync("/v1/agents", operatorToken, new { workloadId = agent, owner = "person:ops@test.dev", ceiling = scope });
        var task = await GrantSiloAsync("/v1/tasks", Identity.ServiceToken($"orchestrator-{_run}", "orchestrator"), new { person = $"person:p-{_run}@test.dev", agent, scope, lifetime = "00:30:00" });
        var agentToken = Identity.AgentToken(agent);
        var session = await GrantSiloAsync("/v1/sessions", agentToken, new { agent });
        var issued = await GrantSiloAsync($"/v1/sessions/{session.GetProperty("sessionId").GetString()}/credentials", agentToken,
            new { taskId = task.GetProperty("taskId").GetString(), resource, dpopKeyThumbprint = TokenKit.Thumbprint(key) });
        return (issued.GetProperty("token").GetString()!, issued.GetProperty("credentialId").GetString()!, agent);
    }

    private async Task<(HttpStatusCode Status, JsonElement Json, string? Challenge)> CallAsync(string tool, string? token, string? proof, string path = "a", string scheme = "DPoP")
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri("/mcp", UriKind.Relative))
        {
            Content = JsonContent.Create(new { jsonrpc = "2.0", id = 7, method = "tools/call", @params = new { name = tool, arguments = new { path } } }),
        };
        if (token is not null)
        {
            request.Headers.TryAddWithoutValidation("Authorization", $"{scheme} {token}");
        }
        if (proof is not null)
        {
            request.Headers.Add("DPoP", proof);
        }
        using var response = await _mcp.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        return (response.StatusCode, text.Length == 0 ? default : JsonDocument.Parse(text).RootElement.Clone(), response.Headers.WwwAuthenticate.ToString());
    }

    private Uri Mcp => new(_resource + "/mcp");

    [Fact]
    public async Task Metadata_NamesGrantSilo_AndAChallengePointsToIt()
    {
        var metadata = JsonDocument.Parse(await _mcp.GetStringAsync(new Uri(McpResourceServer.MetadataPath, UriKind.Relative))).RootElement;
        Assert.Equal(_resource, metadata.GetProperty("resource").GetString());
        Assert.Equal([fixture.Host.BaseAddress.ToString().TrimEnd('/')], metadata.GetProperty("authorization_servers").EnumerateArray().Select(e => e.GetString()));
        Assert.True(metadata.GetProperty("dpop_bound_access_tokens_required").GetBoolean());
        // GrantSilo's own metadata is where the client goes next.
        var server = JsonDocument.Parse(await _grantSilo.GetStringAsync(new Uri(fixture.Host.BaseAddress, "/.well-known/oauth-authorization-server"))).RootElement;
        Assert.EndsWith("/.well-known/jwks.json", server.GetProperty("jwks_uri").GetString(), StringComparison.Ordinal);

        var anonymous = await CallAsync("read_document", null, null);
        Assert.Equal(HttpStatusCode.Unauthorized, anonymous.Status);
        Assert.Contains($"resource_metadata=\"{_resource}{McpResourceServer.MetadataPath}\"", anonymous.Challenge, StringComparison.Ordinal);
    }

    [Fact]
    public async Task BoundToken_WithItsProof_IsVerifiedOffline_AndHighRiskToolsAskGrantSiloOnline()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var (token, credentialId, _) = await CredentialAsync(key, _resource, "doc:read:*", "doc:write:*", "doc:delete:*");

        var read = await CallAsync("read_document", token, TokenKit.Proof(key, "POST", Mcp, token));
        Assert.True(read.Status == HttpStatusCode.OK, read.Json.ToString());
        Assert.Equal("offline", read.Json.GetProperty("result").GetProperty("checkedBy").GetString());
        var write = await CallAsync("write_document", token, TokenKit.Proof(key, "POST", Mcp, token));
        Assert.True(write.Status == HttpStatusCode.OK, write.Json.ToString());
        Assert.Equal("online", write.Json.GetProperty("result").GetProperty("checkedBy").GetString());
        // Online, GrantSilo's policy has its say: the default policy wants a person's approval for a delete.
        var delete = await CallAsync("delete_document", token, TokenKit.Proof(key, "POST", Mcp, token));
        Assert.Equal(HttpStatusCode.Forbidden, delete.Status);
        Assert.Equal("stepUpRequired", delete.Json.GetProperty("error").GetProperty("reason").GetString());

        // Revoked in GrantSilo: the high-risk tool is refused at once; the offline one runs until the token expires (the documented bound).
        await GrantSiloAsync($"/v1/credentials/{credentialId}/revoke", Identity.PersonToken($"ops-{_run}@test.dev", "operator"), new { reason = "test" });
        var refused = await CallAsync("write_document", token, TokenKit.Proof(key, "POST", Mcp, token));
        Assert.Equal(HttpStatusCode.Forbidden, refused.Status);
        Assert.Equal("credentialRevoked", refused.Json.GetProperty("error").GetProperty("reason").GetString());
        Assert.Equal(HttpStatusCode.OK, (await CallAsync("read_document", token, TokenKit.Proof(key, "POST", Mcp, token))).Status);
    }

    [Fact]
    public async Task Refused_StolenToken_ReplayedProof_OtherAudience_OutOfScope_BearerScheme()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var thief = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var (token, _, _) = await CredentialAsync(key, _resource, "doc:read:*");

        var stolen = await CallAsync("read_document", token, TokenKit.Proof(thief, "POST", Mcp, token));
        Assert.Equal(HttpStatusCode.Unauthorized, stolen.Status);
        Assert.Contains("invalid_dpop_proof", stolen.Challenge, StringComparison.Ordinal);

        var proof = TokenKit.Proof(key, "POST", Mcp, token);
        Assert.Equal(HttpStatusCode.OK, (await CallAsync("read_document", token, proof)).Status);
        Assert.Equal(HttpStatusCode.Unauthorized, (await CallAsync("read_document", token, proof)).Status);
        Assert.Equal(HttpStatusCode.Unauthorized, (await CallAsync("read_document", token, TokenKit.Proof(key, "POST", new Uri(_resource + "/other"), token))).Status);
        Assert.Equal(HttpStatusCode.Unauthorized, (await CallAsync("read_document", token, TokenKit.Proof(key, "POST", Mcp, token), scheme: "Bearer")).Status);

        var scoped = await CallAsync("delete_document", token, TokenKit.Proof(key, "POST", Mcp, token));
        Assert.Equal(HttpStatusCode.Forbidden, scoped.Status);
        Assert.Contains("insufficient_scope", scoped.Challenge, StringComparison.Ordinal);

        var (elsewhere, _, _) = await CredentialAsync(key, "https://other.example.com", "doc:read:*");
        var wrongAudience = await CallAsync("read_document", elsewhere, TokenKit.Proof(key, "POST", Mcp, elsewhere));
        Assert.Equal(HttpStatusCode.Unauthorized, wrongAudience.Status);
        Assert.Contains("invalid_token", wrongAudience.Challenge, StringComparison.Ordinal);
    }
}
