using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using GrantSilo.Identity.Tokens;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.IdentityModel.Tokens;

namespace GrantSilo.Samples.McpResourceServer;

/// <summary>A tool this server offers, the GrantSilo permission it needs, and whether GrantSilo is asked online.</summary>
public sealed record Tool(string Name, string ResourceType, string Action, bool HighRisk);

/// <summary>What the resource server needs to know.</summary>
public sealed class ResourceServerOptions
{
    /// <summary>This server's resource identifier (RFC 8707, RFC 9728): the <c>aud</c> of the tokens it accepts.</summary>
    public required string Resource { get; init; }

    /// <summary>GrantSilo's base URL: the authorization server, its JWKS and its online decisions.</summary>
    public required Uri GrantSilo { get; init; }

    /// <summary>GrantSilo's <c>iss</c>.</summary>
    public required string Issuer { get; init; }

    /// <summary>This server's own identity token for GrantSilo (a workload token with the gateway role).</summary>
    public required Func<string> GatewayToken { get; init; }

    /// <summary>The tools, by name.</summary>
    public required IReadOnlyList<Tool> Tools { get; init; }

    /// <summary>How long the JWKS is kept (GrantSilo publishes keys ahead of use, so minutes are safe).</summary>
    public TimeSpan KeySetLifetime { get; init; } = TimeSpan.FromMinutes(5);
}

/// <summary>
/// A sample MCP-style resource server protected by GrantSilo, as the MCP authorization specification has it: it
/// publishes RFC 9728 protected-resource metadata naming GrantSilo as its authorization server; it accepts only
/// DPoP-bound GrantSilo tokens for its own audience (RFC 8707), verified offline from GrantSilo's JWKS with the
/// proof checked for this request; it checks the tool against the token's scope; and for the tools marked high-risk it
/// asks GrantSilo online (<c>/v1/authorize</c>, forwarding the agent's proof), so a revocation counts at once there.
/// </summary>
public static class McpResourceServer
{
    public const string MetadataPath = "/.well-known/oauth-protected-resource";

    /// <summary>Maps the metadata and the <c>POST /mcp</c> endpoint onto <paramref name="app"/>.</summary>
    public static void Map(WebApplication app, ResourceServerOptions options, HttpClient grantSilo, TimeProvider time)
    {
        var keys = new KeySetCache(grantSilo, options, time);
        var proofs = new DpopProofVerifier(new DpopOptions(), time);
        app.MapGet(MetadataPath, () => Results.Json(new JsonObject
        {
            ["resource"] = options.Resource,
            ["authorization_servers"] = new JsonArray(options.GrantSilo.ToString().TrimEnd('/')),
            ["bearer_methods_supported"] = new JsonArray("header"),
            ["scopes_supported"] = new JsonArray([.. options.Tools.Select(t => (JsonNode?)JsonValue.Create($"{t.ResourceType}:{t.Action}:*"))]),
            ["dpop_signing_alg_values_supported"] = new JsonArray("ES256"),
            ["dpop_bound_access_tokens_required"] = true,
        }));
        app.MapPost("/mcp", (HttpContext http, CancellationToken _) => CallAsync(http, options, keys, proofs, grantSilo, time));
    }

    private static async Task<IResult> CallAsync(HttpContext http, ResourceServerOptions options, KeySetCache keys, DpopProofVerifier proofs, HttpClient grantSilo, TimeProvider time)
    {
        var url = new Uri($"{http.Request.Scheme}://{http.Request.Host}{http.Request.PathBase}{http.Request.Path}");
        var metadata = $"{http.Request.Scheme}://{http.Request.Host}{MetadataPath}";
        IResult Unauthorized(string error, string description)
        {
            // RFC 9728 §5.1: the challenge names the metadata, where a client finds GrantSilo.
            http.Response.Headers.WWWAuthenticate = $"DPoP error=\"{error}\", error_description=\"{description}\", resource_metadata=\"{metadata}\", algs=\"ES256\"";
            return Results.StatusCode(StatusCodes.Status401Unauthorized);
        }

        var authorization = http.Request.Headers.Authorization.ToString();
        if (!authorization.StartsWith("DPoP ", StringComparison.Ordinal))
        {
            return Unauthorized("invalid_token", "a DPoP-bound GrantSilo token is required");
        }
        var token = authorization["DPoP ".Length..].Trim();
        // Offline: signature, issuer, audience (this server), times, from GrantSilo's published keys.
        var (claims, refusal) = await CredentialJwt.ValidateAsync(token, options.Issuer, options.Resource, await keys.GetAsync(http.RequestAborted), time.GetUtcNow());
        if (claims is null)
        {
            return Unauthorized("invalid_token", refusal!.Reason);
        }
        // DPoP: a fresh proof by the key the token is bound to, for this request.
        if (claims.ConfirmationThumbprint is not { } jkt)
        {
            return Unauthorized("invalid_token", "the token is not bound to a key");
        }
        var proofHeader = http.Request.Headers["DPoP"];
        var (proof, proofRefusal) = proofHeader.Count == 1 ? await proofs.VerifyAsync(proofHeader[0], "POST", url, token, expectedKeyThumbprint: jkt) : (null, new DpopRefusal(DpopRefusal.InvalidProof, "one DPoP proof is required"));
        if (proof is null || proof.KeyThumbprint != jkt)
        {
            return Unauthorized("invalid_dpop_proof", proofRefusal?.Description ?? "the proof is signed by another key");
        }

        // The MCP request: tools/call with a tool name and a path.
        JsonElement body;
        try
        {
            body = (await JsonSerializer.DeserializeAsync<JsonElement>(http.Request.Body, cancellationToken: http.RequestAborted));
        }
        catch (JsonException)
        {
            return Results.BadRequest();
        }
        var id = body.TryGetProperty("id", out var requestId) ? requestId.Clone() : default;
        if (!body.TryGetProperty("method", out var method) || method.GetString() != "tools/call"
            || !body.TryGetProperty("params", out var parameters) || !parameters.TryGetProperty("name", out var name)
            || options.Tools.FirstOrDefault(t => t.Name == name.GetString()) is not { } tool
            || !parameters.TryGetProperty("arguments", out var arguments) || !arguments.TryGetProperty("path", out var pathElement) || pathElement.GetString() is not { Length: > 0 } path)
        {
            return Results.Json(new { jsonrpc = "2.0", id, error = new { code = -32602, message = "tools/call with a known tool and arguments.path" } });
        }

        // Scope: the token must hold the tool's permission for this path.
        var scope = Scope.Create(claims.Permissions);
        if (!scope.IsSuccess || !scope.Value!.Covers(tool.ResourceType, tool.Action, path))
        {
            http.Response.Headers.WWWAuthenticate = $"DPoP error=\"insufficient_scope\", scope=\"{tool.ResourceType}:{tool.Action}:{path}\", resource_metadata=\"{metadata}\"";
            return Results.StatusCode(StatusCodes.Status403Forbidden);
        }

        // High-risk tools: GrantSilo decides online (revocation, checkpoints, policy), with the agent's proof forwarded.
        var checkedBy = "offline";
        if (tool.HighRisk)
        {
            using var ask = new HttpRequestMessage(HttpMethod.Post, new Uri(options.GrantSilo, "/v1/authorize"))
            {
                Content = JsonContent.Create(new { token, action = tool.Action, resource = new { type = tool.ResourceType, path } }),
            };
            ask.Headers.Authorization = new("Bearer", options.GatewayToken());
            ask.Headers.Add("DPoP", proofHeader[0]);
            ask.Headers.Add("GrantSilo-DPoP-Method", "POST");
            ask.Headers.Add("GrantSilo-DPoP-Url", url.ToString());
            // The resource this server is: GrantSilo accepts a token issued for a resource only where that resource asks.
            ask.Headers.Add("GrantSilo-Audience", options.Resource);
            using var answer = await grantSilo.SendAsync(ask, http.RequestAborted);
            var decision = answer.IsSuccessStatusCode ? await answer.Content.ReadFromJsonAsync<JsonElement>(http.RequestAborted) : default;
            if (decision.ValueKind != JsonValueKind.Object || decision.GetProperty("kind").GetString() != "allow")
            {
                return Results.Json(new { jsonrpc = "2.0", id, error = new { code = -32001, message = "GrantSilo denied the action", reason = decision.ValueKind == JsonValueKind.Object ? decision.GetProperty("reason").GetString() : "unavailable" } },
                    statusCode: StatusCodes.Status403Forbidden);
            }
            checkedBy = "online";
        }
        return Results.Json(new
        {
            jsonrpc = "2.0",
            id,
            result = new { content = new[] { new { type = "text", text = $"{tool.Name} {path}: done for {claims.Subject}" } }, checkedBy },
        });
    }

    // GrantSilo's JWKS, fetched when first needed and kept for KeySetLifetime (two requests racing may both fetch it).
    private sealed class KeySetCache(HttpClient grantSilo, ResourceServerOptions options, TimeProvider time)
    {
        private volatile Cached? _cached;

        public async Task<IReadOnlyList<SecurityKey>> GetAsync(CancellationToken cancellationToken)
        {
            if (_cached is { } cached && time.GetUtcNow() < cached.Until)
            {
                return cached.Keys;
            }
            var text = await grantSilo.GetStringAsync(new Uri(options.GrantSilo, "/.well-known/jwks.json"), cancellationToken);
            IReadOnlyList<SecurityKey> keys = [.. new JsonWebKeySet(text).Keys];
            _cached = new Cached(keys, time.GetUtcNow() + options.KeySetLifetime);
            return keys;
        }

        private sealed record Cached(IReadOnlyList<SecurityKey> Keys, DateTimeOffset Until);
    }
}
