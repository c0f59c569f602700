using System.Text.Json.Nodes;
using GrantSilo.Client;
using GrantSilo.Grains.Tokens;
using GrantSilo.Identity;
using GrantSilo.Identity.Tokens;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace GrantSilo.Http;

/// <summary>
/// GrantSilo as an OAuth authorization server for agents and resource servers: RFC 8414 metadata, RFC 8693 token
/// exchange (delegation to a worker, exactly as <c>DelegateAsync</c>), RFC 7662 introspection and RFC 7009 revocation.
/// Every endpoint but the metadata needs an authenticated caller, as every <c>/v1</c> route does; answers about tokens
/// are <c>Cache-Control: no-store</c> and never repeat a token except the one issued.
/// </summary>
internal static partial class OAuthEndpoints
{
    public const string TokenExchange = "urn:ietf:params:oauth:grant-type:token-exchange";
    public const string AccessTokenType = "urn:ietf:params:oauth:token-type:access_token";
    public const string JwtTokenType = "urn:ietf:params:oauth:token-type:jwt";

    public static void Map(IEndpointRouteBuilder app)
    {
        app.MapGet("/.well-known/oauth-authorization-server", Metadata)
            .WithTags("OAuth").WithName("AuthorizationServerMetadata").WithSummary("RFC 8414 authorization server metadata.")
            .Produces(StatusCodes.Status200OK, contentType: "application/json")
            .RequireRateLimiting(GrantSiloHttp.RateLimitPolicy);
        var oauth = app.MapGroup("/oauth2").WithTags("OAuth").AddEndpointFilter(HttpCaller.Require).RequireRateLimiting(GrantSiloHttp.RateLimitPolicy);
        oauth.MapPost("/token", ExchangeAsync).WithName("TokenExchange").WithSummary("RFC 8693 token exchange: a planner's credential and a worker's identity for the worker's narrower credential.")
            .Accepts<IFormCollection>("application/x-www-form-urlencoded").DisableAntiforgery()
            .Produces(StatusCodes.Status200OK, contentType: "application/json").Produces(StatusCodes.Status400BadRequest, contentType: "application/json")
            .ProducesProblem(StatusCodes.Status401Unauthorized).ProducesProblem(StatusCodes.Status403Forbidden).ProducesProblem(StatusCodes.Status503ServiceUnavailable);
        oauth.MapPost("/introspect", IntrospectAsync).WithName("OAuthIntrospect").WithSummary("RFC 7662 token introspection.")
            .Accepts<IFormCollection>("application/x-www-form-urlencoded").DisableAntiforgery()
            .Produces(StatusCodes.Status200OK, contentType: "application/json")
            .ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status401Unauthorized).ProducesProblem(StatusCodes.Status403Forbidden);
        oauth.MapPost("/revoke", RevokeAsync).WithName("OAuthRevoke").WithSummary("RFC 7009 token revocation.")
            .Accepts<IFormCollection>("application/x-www-form-urlencoded").DisableAntiforgery()
            .Produces(StatusCodes.Status200OK)
            .ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status401Unauthorized).ProducesProblem(StatusCodes.Status403Forbidden).ProducesProblem(StatusCodes.Status503ServiceUnavailable);
    }

    private static IResult Metadata(HttpContext http, IOptions<TokenOptions> tokens)
    {
        var issuer = tokens.Value.Issuer;
        var at = issuer.StartsWith("https://", StringComparison.Ordinal) || issuer.StartsWith("http://", StringComparison.Ordinal)
            ? issuer.TrimEnd('/')
            : $"{http.Request.Scheme}://{http.Request.Host}{http.Request.PathBase}";
        http.Response.Headers.CacheControl = "public, max-age=300";
        return TypedResults.Json(new JsonObject
        {
            ["issuer"] = issuer,
            ["jwks_uri"] = at + "/.well-known/jwks.json",
            ["token_endpoint"] = at + "/oauth2/token",
            ["introspection_endpoint"] = at + "/oauth2/introspect",
            ["revocation_endpoint"] = at + "/oauth2/revoke",
            ["grant_types_supported"] = new JsonArray(TokenExchange),
            ["response_types_supported"] = new JsonArray(),
            ["token_endpoint_auth_methods_supported"] = new JsonArray("urn:grantsilo:bearer-workload-identity"),
            ["dpop_signing_alg_values_supported"] = new JsonArray("ES256"),
            ["code_challenge_methods_supported"] = new JsonArray(),
        }, HttpJson.Options);
    }

    // ---- Token exchange (RFC 8693) ----

    private static async Task<IResult> ExchangeAsync(HttpContext http, ILoggerFactory logging)
    {
        var logger = logging.CreateLogger(typeof(OAuthEndpoints));
        var (form, problem) = await ReadFormAsync(http).ConfigureAwait(false);
        if (form is null)
        {
            return problem!;
        }
        if (One(form, "grant_type") != TokenExchange)
        {
            return Error(logger, StatusCodes.Status400BadRequest, "unsupported_grant_type", $"The only grant is {TokenExchange}.");
        }
        var subjectToken = One(form, "subject_token");
        var actorToken = One(form, "actor_token");
        if (subjectToken is null || One(form, "subject_token_type") is not (AccessTokenType or JwtTokenType))
        {
            return Error(logger, StatusCodes.Status400BadRequest, "invalid_request", $"subject_token is the planner's GrantSilo credential, with subject_token_type {AccessTokenType}.");
        }
        if (actorToken is null || One(form, "actor_token_type") != JwtTokenType)
        {
            return Error(logger, StatusCodes.Status400BadRequest, "invalid_request", $"actor_token is the worker's workload identity token (a JWT-SVID or OIDC token), with actor_token_type {JwtTokenType}.");
        }
        // Only the subject token's own agent may exchange it (the access rules let an agent delegate its own tasks alone), and
        // no other caller is told anything about the token: this is decided before the token is checked, so a genuine, an
        // expired and a forged token get the same refusal. The claims read here are not trusted for anything else.
        if (HttpCaller.Of(http)?.Caller is not { Kind: CallerKind.Agent } caller || CredentialJwt.ReadVerified(subjectToken)?.Subject != caller.Name)
        {
            LogExchangeRefused(logger, "forbidden", GrantErrorCode.Forbidden);
            return Problems.From(new GrantError(GrantErrorCode.Forbidden, "Only the agent a subject token was issued to can exchange it."));
        }
        // The subject token is checked as at every door: offline here; its DPoP proof, if it is bound, by its credential.
        var (refused, presentation) = await ApiEndpoints.Door(http).CheckAsync(http, subjectToken).ConfigureAwait(false);
        if (refused is not null)
        {
            return Error(logger, StatusCodes.Status400BadRequest, refused.Reason == DecisionReason.DpopProofInvalid ? "invalid_dpop_proof" : "invalid_grant", refused.Detail ?? "The subject token was refused.");
        }
        if (CredentialJwt.ReadVerified(subjectToken) is not { } subject)
        {
            return Error(logger, StatusCodes.Status400BadRequest, "invalid_grant", "The subject token's GrantSilo claims are malformed.");
        }
        var authenticated = await http.RequestServices.GetRequiredService<ICallerAuthenticator>().AuthenticateAsync(actorToken, http.RequestAborted).ConfigureAwait(false);
        if (authenticated.Caller is not { Kind: CallerKind.Agent } actor)
        {
            return Error(logger, StatusCodes.Status400BadRequest, "invalid_grant", "The actor token does not prove an agent's workload identity.");
        }
        var resource = One(form, "resource");
        if (resource is not null && !TokenOptions.IsResourceIndicator(resource))
        {
            return Error(logger, StatusCodes.Status400BadRequest, "invalid_target", "resource is an RFC 8707 resource indicator: an absolute URI without a fragment.");
        }
        var jkt = One(form, "dpop_jkt");
        if (jkt is not null && !JwkThumbprint.IsWellFormed(jkt))
        {
            return Error(logger, StatusCodes.Status400BadRequest, "invalid_request", "dpop_jkt is the RFC 7638 thumbprint of the worker's DPoP key (43 base64url characters).");
        }
        var scope = ReadScope(form, subject);
        if (!scope.IsSuccess)
        {
            return GrantError(logger, scope.Error!);
        }
        TimeSpan? lifetime = null;
        if (One(form, "requested_lifetime") is { } requested)
        {
            if (!int.TryParse(requested, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var seconds) || seconds <= 0)
            {
                return Error(logger, StatusCodes.Status400BadRequest, "invalid_request", "requested_lifetime is a positive whole number of seconds.");
            }
            lifetime = TimeSpan.FromSeconds(seconds);
        }

        // The exchange itself is the SDK's (one path for both): the child task exactly as DelegateAsync makes it (the caller
        // proves itself the subject token's agent, and the task grain holds it to the subject credential's may_act), and the
        // worker's credential, asked for with its actor token.
        var planner = HttpCaller.Of(http)!.Client(http);
        var issued = await planner.ExchangeCredentialAsync(new CredentialExchangeRequest
        {
            SubjectToken = subjectToken,
            SubjectPresentation = presentation,
            Actor = actor.Name,
            ActorToken = actorToken,
            Scope = scope.Value,
            Resource = resource,
            Lifetime = lifetime,
            DpopKeyThumbprint = jkt,
        }, http.RequestAborted).ConfigureAwait(false);
        if (!issued.IsSuccess)
        {
            return GrantError(logger, issued.Error!);
        }
        var now = http.RequestServices.GetRequiredKeyedService<TimeProvider>(GrantSilo.Grains.Hosting.GrantSiloTime.ServiceKey).GetUtcNow();
        NoStore(http);
        return TypedResults.Json(new JsonObject
        {
            ["access_token"] = issued.Value.Token,
            ["issued_token_type"] = AccessTokenType,
            ["token_type"] = jkt is null ? "Bearer" : "DPoP",
            ["expires_in"] = Math.Max(0, (long)(issued.Value.ExpiresAt - now).TotalSeconds),
            ["scope"] = CredentialJwt.EncodeScope(issued.Value.Scope.Permissions.Select(p => p.ToString())),
            ["grantsilo_task_id"] = issued.Value.TaskId,
            ["grantsilo_credential_id"] = issued.Value.CredentialId,
        }, HttpJson.Options);
    }

    // The scope asked for: permissions as an RFC 6749 scope (GrantSilo's encoding), the subject's when none; the data
    // classification and delegation depth default to the subject's classification and no further delegation.
    private static GrantResult<Scope> ReadScope(IFormCollection form, CredentialClaims subject)
    {
        var permissions = One(form, "scope") is { } scope ? CredentialJwt.DecodeScope(scope) : subject.Permissions;
        if (!Enum.TryParse<DataClassification>(One(form, "max_classification") ?? subject.MaxClassification, ignoreCase: true, out var classification)
            || !Enum.IsDefined(classification) || int.TryParse(One(form, "max_classification"), out _))
        {
            return GrantResult<Scope>.Fail(GrantErrorCode.InvalidScope, "max_classification must be public, internal, confidential or restricted.");
        }
        var depth = 0;
        if (One(form, "delegation_depth") is { } text && (!int.TryParse(text, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out depth) || depth > Scope.MaxDelegationDepth))
        {
            return GrantResult<Scope>.Fail(GrantErrorCode.InvalidScope, $"delegation_depth is a whole number from 0 to {Scope.MaxDelegationDepth}.");
        }
        return Scope.Create(permissions, classification, depth);
    }

    // ---- Introspection (RFC 7662) ----

    private static async Task<IResult> IntrospectAsync(HttpContext http, CancellationToken _)
    {
        var (form, problem) = await ReadFormAsync(http).ConfigureAwait(false);
        if (form is null)
        {
            return problem!;
        }
        NoStore(http);
        var token = One(form, "token");
        if (token is null)
        {
            return Problems.From(new GrantError(GrantErrorCode.InvalidArgument, "token is required.", target: "token"));
        }
        var answer = await ApiEndpoints.Door(http).IntrospectAsync(http, HttpCaller.Of(http)!.Client(http), token).ConfigureAwait(false);
        if (!answer.IsSuccess)
        {
            return Problems.From(answer.Error!);
        }
        if (ApiEndpoints.CallerRefusal(answer.Value.Reason, null) is { } refusal)
        {
            return refusal;
        }
        if (!answer.Value.Active || CredentialJwt.ReadVerified(token) is not { } claims)
        {
            return Inactive();
        }
        var active = new JsonObject
        {
            ["active"] = true,
            ["scope"] = CredentialJwt.EncodeScope(claims.Permissions),
            ["client_id"] = claims.ClientId,
            ["token_type"] = claims.ConfirmationThumbprint is null ? "Bearer" : "DPoP",
            ["exp"] = claims.ExpiresAt.ToUnixTimeSeconds(),
            ["iat"] = claims.IssuedAt.ToUnixTimeSeconds(),
            ["nbf"] = claims.NotBefore.ToUnixTimeSeconds(),
            ["sub"] = claims.Subject,
            ["aud"] = claims.Audience,
            ["iss"] = claims.Issuer,
            ["jti"] = claims.CredentialId,
            [CredentialJwt.GrantSiloClaim] = new JsonObject
            {
                ["task_id"] = claims.TaskId,
                ["root_person"] = claims.RootPerson,
                ["max_classification"] = claims.MaxClassification,
            },
        };
        if (claims.ConfirmationThumbprint is { } jkt)
        {
            active["cnf"] = new JsonObject { ["jkt"] = jkt };
        }
        JsonObject? outer = null;
        foreach (var actor in claims.Actors.Reverse())
        {
            outer = outer is null ? new JsonObject { ["sub"] = actor } : new JsonObject { ["sub"] = actor, ["act"] = outer };
        }
        if (outer is not null)
        {
            active["act"] = outer;
        }
        return TypedResults.Json(active, HttpJson.Options);
    }

    private static IResult Inactive() => TypedResults.Json(new JsonObject { ["active"] = false }, HttpJson.Options);

    // ---- Revocation (RFC 7009) ----

    private static async Task<IResult> RevokeAsync(HttpContext http, CredentialTokenVerifier verifier)
    {
        var (form, problem) = await ReadFormAsync(http).ConfigureAwait(false);
        if (form is null)
        {
            return problem!;
        }
        var token = One(form, "token");
        if (token is null)
        {
            return Problems.From(new GrantError(GrantErrorCode.InvalidArgument, "token is required.", target: "token"));
        }
        // A token GrantSilo did not sign names nothing to revoke: answered as a success (RFC 7009 §2.2).
        var (verified, _) = await verifier.VerifyAsync(token, http.RequestAborted).ConfigureAwait(false);
        if (verified is { } credential)
        {
            var revoked = await HttpCaller.Of(http)!.Client(http).RevokeCredentialAsync(credential.CredentialId, "revoked at the OAuth revocation endpoint", http.RequestAborted).ConfigureAwait(false);
            if (!revoked.IsSuccess && revoked.Error!.Code is not (GrantErrorCode.CredentialNotFound or GrantErrorCode.AlreadyEnded))
            {
                return Problems.From(revoked.Error);
            }
        }
        return TypedResults.Ok();
    }

    // ---- Shared ----

    private static async Task<(IFormCollection? Form, IResult? Problem)> ReadFormAsync(HttpContext http)
    {
        if (!http.Request.HasFormContentType)
        {
            return (null, Problems.Of(StatusCodes.Status415UnsupportedMediaType, Problems.UnsupportedMediaType, "Unsupported media type", "OAuth endpoints take application/x-www-form-urlencoded bodies."));
        }
        try
        {
            return (await http.Request.ReadFormAsync(http.RequestAborted).ConfigureAwait(false), null);
        }
        catch (InvalidDataException)
        {
            return (null, Problems.Of(StatusCodes.Status400BadRequest, Problems.InvalidJson, "Invalid form", "The form body could not be read."));
        }
        catch (BadHttpRequestException refused)
        {
            // Kestrel's refusal of the body itself (larger than GrantSilo:Http:MaxRequestBodyBytes, or cut short): the
            // caller's problem, answered as for a JSON body, never a 500.
            return (null, refused.StatusCode == StatusCodes.Status413PayloadTooLarge
                ? Bodies.TooLarge(http.RequestServices.GetRequiredService<IOptions<HttpApiOptions>>().Value.MaxRequestBodyBytes)
                : Problems.Of(refused.StatusCode, Problems.TypePrefix + "invalid-request", "Bad request", "The form body could not be read."));
        }
    }

    // A parameter given once (RFC 6749 §3.2: parameters must not be repeated); null when absent or repeated.
    private static string? One(IFormCollection form, string name) =>
        form.TryGetValue(name, out var values) && values.Count == 1 && values[0] is { Length: > 0 } value ? value : null;

    private static void NoStore(HttpContext http)
    {
        http.Response.Headers.CacheControl = "no-store";
        http.Response.Headers.Pragma = "no-cache";
    }

    // A typed error as an OAuth error response, with GrantSilo's code beside it for programs that switch on it.
    private static IResult GrantError(ILogger logger, GrantError error)
    {
        if (error.Code is GrantErrorCode.Unauthenticated or GrantErrorCode.Forbidden)
        {
            return Problems.From(error);
        }
        if (error.Code == GrantErrorCode.Unavailable)
        {
            return Problems.From(error);
        }
        var code = error.Code switch
        {
            GrantErrorCode.InvalidScope or GrantErrorCode.ScopeTooLarge or GrantErrorCode.ScopeExceedsParent or GrantErrorCode.ScopeExceedsCeiling
                or GrantErrorCode.PolicyForbidsScope or GrantErrorCode.DelegationForbidden or GrantErrorCode.DepthLimitExceeded => "invalid_scope",
            GrantErrorCode.InvalidProof or GrantErrorCode.TaskNotUsable or GrantErrorCode.TaskNotFound or GrantErrorCode.CredentialNotFound
                or GrantErrorCode.AgentNotFound or GrantErrorCode.AgentNotActive => "invalid_grant",
            _ => "invalid_request",
        };
        return Error(logger, StatusCodes.Status400BadRequest, code, error.Message, error.Code);
    }

    private static IResult Error(ILogger logger, int status, string error, string description, GrantErrorCode? code = null)
    {
        LogExchangeRefused(logger, error, code);
        var body = new JsonObject { ["error"] = error, ["error_description"] = Problems.Safe(description) };
        if (code is { } grantError)
        {
            body["grantsilo_error"] = grantError.ToString();
        }
        return TypedResults.Json(body, HttpJson.Options, statusCode: status);
    }

    [LoggerMessage(EventId = (int)LogEvents.TokenExchangeRefused, Level = LogLevel.Information, Message = "A token exchange was refused: {Error} ({GrantSiloError})")]
    private static partial void LogExchangeRefused(ILogger logger, string error, GrantErrorCode? grantSiloError);
}
