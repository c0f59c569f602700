using GrantSilo.Client;
using GrantSilo.Grains.Access;
using GrantSilo.Identity;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace GrantSilo.Http;

/// <summary>
/// Who is calling the HTTP API: the bearer token of the <c>Authorization</c> header, verified by the silo's own
/// <see cref="ICallerAuthenticator"/> (the one the door uses). The token is kept for the grain calls made for this
/// request, which carry it as a cluster client's calls do, and is never logged or repeated back.
/// </summary>
public sealed partial class HttpCaller
{
    private static readonly object Key = new();
    private readonly string _token;

    private HttpCaller(Caller caller, string token)
    {
        Caller = caller;
        _token = token;
    }

    /// <summary>The verified caller.</summary>
    public Caller Caller { get; }

    /// <summary>The verified caller of <paramref name="http"/>, or null.</summary>
    public static HttpCaller? Of(HttpContext http) => http.Items.TryGetValue(Key, out var value) ? value as HttpCaller : null;

    /// <summary>The per-address limiter's partition: the remote address.</summary>
    public static string AddressOf(HttpContext http) => http.Connection.RemoteIpAddress?.ToString() ?? "unknown";

    /// <summary>The rate limiter's partition: the caller's name, or its address when it is not authenticated.</summary>
    public static string PartitionOf(HttpContext http) =>
        Of(http) is { } caller ? "caller:" + caller.Caller.Name : "address:" + (http.Connection.RemoteIpAddress?.ToString() ?? "unknown");

    /// <summary>A GrantSilo client calling as this caller.</summary>
    public IGrantClient Client(HttpContext http) => http.RequestServices.GetRequiredService<HttpGrantClient>().For(_token);

    /// <summary>
    /// The first middleware of the API: the outside-call scope (<see cref="OutsideCalls"/>) for the whole request, so no
    /// grain call made while serving it passes the door as the cluster's own.
    /// </summary>
    internal static async Task OutsideCallAsync(HttpContext http, RequestDelegate next)
    {
        using var outside = OutsideCalls.Enter();
        await next(http).ConfigureAwait(false);
    }

    /// <summary>
    /// Authenticates the bearer token, if one is given (after the per-address limit, so a flood of made-up tokens costs
    /// no more than the limit lets through). Whether a route needs a caller is the route's decision (<see cref="Require"/>).
    /// </summary>
    internal static async Task AuthenticateAsync(HttpContext http, RequestDelegate next)
    {
        var header = http.Request.Headers.Authorization;
        if (header.Count == 1 && header[0] is { } value && value.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            var token = value["Bearer ".Length..].Trim();
            var authenticator = http.RequestServices.GetRequiredService<ICallerAuthenticator>();
            var result = await authenticator.AuthenticateAsync(token, http.RequestAborted).ConfigureAwait(false);
            if (result.Caller is { } caller)
            {
                http.Items[Key] = new HttpCaller(caller, token);
            }
            else
            {
                http.Items[FailureKey] = result;
            }
        }
        else if (header.Count > 0)
        {
            http.Items[FailureKey] = AuthenticationResult.Fail(AuthenticationFailure.Malformed, "the Authorization header must be a single 'Bearer <token>'");
        }
        await next(http).ConfigureAwait(false);
    }

    private static readonly object FailureKey = new();

    /// <summary>An endpoint filter: the route needs an authenticated caller; without one the answer is 401.</summary>
    internal static ValueTask<object?> Require(EndpointFilterInvocationContext context, EndpointFilterDelegate next) =>
        Of(context.HttpContext) is not null ? next(context) : ValueTask.FromResult<object?>(Refuse(context.HttpContext));

    /// <summary>
    /// The answer to a request without an authenticated caller (401), logged and audited as <see cref="Require"/> does: for
    /// a busy route that checks its caller itself, first, rather than through an endpoint filter.
    /// </summary>
    internal static IResult Refuse(HttpContext http)
    {
        var refused = http.Items.TryGetValue(FailureKey, out var failed) ? failed as AuthenticationResult : null;
        var detail = refused is not null
            ? $"The bearer token was refused ({refused.Failure}{(refused.Detail is { Length: > 0 } d ? ": " + d : "")})."
            : "This operation needs an authenticated caller: send Authorization: Bearer <token> from a trusted issuer.";
        var logger = http.RequestServices.GetRequiredService<Microsoft.Extensions.Logging.ILogger<HttpCaller>>();
        LogUnauthenticated(logger, http.Request.Method, (http.GetEndpoint() as Microsoft.AspNetCore.Routing.RouteEndpoint)?.RoutePattern.RawText ?? "?",
            http.Connection.RemoteIpAddress?.ToString() ?? "unknown", refused?.Failure?.ToString() ?? "Missing", refused?.Detail ?? "");
        AuditRefusal(http, refused?.Failure?.ToString() ?? "Missing");
        return Problems.Unauthenticated(detail);
    }

    // The refusal on the audit log (docs/audit.md), as the grains' door records its own: queued, never waited for, so a
    // flood of unauthenticated requests never holds up decisions. The route's pattern, never the path (it may hold a token).
    private static void AuditRefusal(HttpContext http, string failure)
    {
        if (http.RequestServices.GetService<GrantSilo.Grains.Audit.IAuditTrail>() is not { } trail)
        {
            return;
        }
        var time = http.RequestServices.GetService<TimeProvider>() ?? TimeProvider.System;
        var record = new AuditRecord
        {
            Id = GrantSilo.Grains.Audit.AuditIds.New(time),
            Kind = AuditEventKind.CallerRefused,
            At = time.GetUtcNow(),
            Action = $"HTTP {http.Request.Method} {(http.GetEndpoint() as Microsoft.AspNetCore.Routing.RouteEndpoint)?.RoutePattern.RawText ?? "?"}",
            Subject = http.Connection.RemoteIpAddress?.ToString(),
            Decision = DecisionKind.Deny,
            Reason = DecisionReason.CallerUnauthenticated,
            Detail = $"unauthenticated ({failure})",
        };
        _ = RecordAsync(trail, record);

        static async Task RecordAsync(GrantSilo.Grains.Audit.IAuditTrail trail, AuditRecord record)
        {
            try
            {
                await trail.RecordAsync(record, CancellationToken.None).ConfigureAwait(false);
            }
            catch (GrantSilo.Grains.Audit.AuditUnavailableException)
            {
                // The journal logs it; the refusal stands.
            }
        }
    }
}

/// <summary>The HTTP API's GrantSilo client over the silo's in-process cluster client (each request calls <c>As</c> its caller).</summary>
public sealed class HttpGrantClient(IClusterClient cluster, [FromKeyedServices(GrantSilo.Grains.Hosting.GrantSiloTime.ServiceKey)] TimeProvider time, Microsoft.Extensions.Logging.ILogger<GrantClient> logger)
{
    private const int MaxCallers = 4096;

    // A caller's client is kept while its token is in use: after its first call, its calls refer to the token by
    // its SHA-256 (as an SDK client's do) instead of carrying it, and nothing is encoded or hashed again per request.
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, GrantClient> _callers = new(StringComparer.Ordinal);

    /// <summary>The client; without <c>As</c> it calls as nobody and every call is refused.</summary>
    public GrantClient Client { get; } = new(cluster, time, logger);

    /// <summary>A client calling with <paramref name="token"/> (a verified bearer token).</summary>
    public GrantClient For(string token)
    {
        if (_callers.TryGetValue(token, out var client))
        {
            return client;
        }
        if (_callers.Count >= MaxCallers)
        {
            _callers.Clear();
        }
        return _callers.GetOrAdd(token, t => Client.As(new StaticCallerToken(t)));
    }
}
