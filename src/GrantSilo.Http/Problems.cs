using System.Text;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;

namespace GrantSilo.Http;

/// <summary>
/// Errors as RFC 9457 problem details. Every <see cref="GrantErrorCode"/> has a stable <c>type</c>
/// (<c>urn:grantsilo:problem:</c> and the code in kebab case) and HTTP status; the extension members say what a program
/// switches on: <c>code</c>, the <c>field</c> at fault, the offending <c>permission</c>, the <c>target</c>, the
/// <c>position</c> in a text. Nothing a caller sent is repeated back when it looks like a token.
/// </summary>
public static partial class Problems
{
    /// <summary>The prefix of every problem type.</summary>
    public const string TypePrefix = "urn:grantsilo:problem:";

    /// <summary>The body is not JSON, or not the JSON this operation reads (the <c>field</c> says where).</summary>
    public const string InvalidJson = TypePrefix + "invalid-json";

    /// <summary>The body is not <c>application/json</c>.</summary>
    public const string UnsupportedMediaType = TypePrefix + "unsupported-media-type";

    /// <summary>The body is larger than <c>GrantSilo:Http:MaxRequestBodyBytes</c>.</summary>
    public const string BodyTooLarge = TypePrefix + "body-too-large";

    /// <summary>The caller sent more requests than its rate allows.</summary>
    public const string RateLimited = TypePrefix + "rate-limited";

    /// <summary>The caller already has as many live streams open as <c>GrantSilo:Http:MaxStreamsPerCaller</c> allows.</summary>
    public const string TooManyStreams = TypePrefix + "too-many-streams";

    /// <summary>The request took longer than <c>GrantSilo:Http:RequestTimeout</c>.</summary>
    public const string Timeout = TypePrefix + "timeout";

    /// <summary>No route answers the path.</summary>
    public const string NotFound = TypePrefix + "not-found";

    /// <summary>Something failed that the caller cannot fix (logged on the silo; never described here).</summary>
    public const string Internal = TypePrefix + "internal";

    /// <summary>The problem type of <paramref name="code"/>.</summary>
    public static string TypeOf(GrantErrorCode code) => TypePrefix + Kebab(code.ToString());

    /// <summary>The HTTP status of <paramref name="code"/>.</summary>
    public static int StatusOf(GrantErrorCode code) => code switch
    {
        GrantErrorCode.Unauthenticated => StatusCodes.Status401Unauthorized,
        GrantErrorCode.Forbidden or GrantErrorCode.ApproverNotAllowed or GrantErrorCode.InvalidProof => StatusCodes.Status403Forbidden,
        GrantErrorCode.AgentNotFound or GrantErrorCode.TaskNotFound or GrantErrorCode.SessionNotFound
            or GrantErrorCode.CredentialNotFound or GrantErrorCode.ApprovalNotFound or GrantErrorCode.AuditRecordNotFound => StatusCodes.Status404NotFound,
        GrantErrorCode.AgentAlreadyExists or GrantErrorCode.TaskAlreadyExists or GrantErrorCode.AgentNotActive
            or GrantErrorCode.TaskNotUsable or GrantErrorCode.TaskNotAssignedToAgent or GrantErrorCode.SessionNotActive
            or GrantErrorCode.InvalidState or GrantErrorCode.ApprovalNotPending or GrantErrorCode.AlreadyEnded => StatusCodes.Status409Conflict,
        GrantErrorCode.ScopeExceedsParent or GrantErrorCode.ScopeExceedsCeiling or GrantErrorCode.LifetimeExceedsParent
            or GrantErrorCode.DelegationForbidden or GrantErrorCode.DepthLimitExceeded or GrantErrorCode.FanOutLimitExceeded
            or GrantErrorCode.PolicyForbidsScope => StatusCodes.Status422UnprocessableEntity,
        GrantErrorCode.QuotaExceeded or GrantErrorCode.RateLimited => StatusCodes.Status429TooManyRequests,
        GrantErrorCode.Unavailable => StatusCodes.Status503ServiceUnavailable,
        _ => StatusCodes.Status400BadRequest,
    };

    /// <summary>A GrantSilo refusal as a problem; <paramref name="field"/> names the body member at fault when known.</summary>
    public static IResult From(GrantError error, string? field = null)
    {
        ArgumentNullException.ThrowIfNull(error);
        var problem = new ProblemDetails
        {
            Type = TypeOf(error.Code),
            Status = StatusOf(error.Code),
            Title = Title(error.Code),
            // A transport failure's message names exceptions of the cluster: logged by the client, not shown here.
            Detail = error.Code == GrantErrorCode.Unavailable
                ? "GrantSilo could not complete the request now; it may or may not have taken effect. Retry: retrying an end (revoke, complete, suspend, end session) is always safe."
                : Safe(error.Message),
        };
        problem.Extensions["code"] = error.Code.ToString();
        if ((field ?? error.Target) is { } at)
        {
            problem.Extensions[field is null ? "target" : "field"] = Safe(at);
        }
        if (error.Permission is { } permission)
        {
            problem.Extensions["permission"] = Safe(permission);
        }
        if (error.Position is { } position)
        {
            problem.Extensions["position"] = new Dictionary<string, int> { ["line"] = position.Line, ["column"] = position.Column, ["offset"] = position.Offset };
        }
        if (error.DetailCode is { } detailCode)
        {
            problem.Extensions["detailCode"] = Safe(detailCode);
        }
        var result = TypedResults.Problem(problem);
        return error.Code == GrantErrorCode.RateLimited ? new RetryAfter(result, error.RetryAfter) : result;
    }

    /// <summary>A problem of the API itself (bad body, too large, rate limited...).</summary>
    public static IResult Of(int status, string type, string title, string detail, string? field = null)
    {
        var problem = new ProblemDetails { Type = type, Status = status, Title = title, Detail = detail };
        if (field is not null)
        {
            problem.Extensions["field"] = Safe(field);
        }
        return TypedResults.Problem(problem);
    }

    /// <summary>The 401 of a request without a valid bearer token (with its <c>WWW-Authenticate</c> challenge).</summary>
    public static IResult Unauthenticated(string detail) => new Challenge(From(new GrantError(GrantErrorCode.Unauthenticated, detail)));

    /// <summary>
    /// <paramref name="text"/> when nothing in it looks like a secret (a GrantSilo credential token or a JWT), else a
    /// placeholder; never longer than 300 characters.
    /// </summary>
    public static string Safe(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (Untrusted.ContainsToken(text) || Jwt().IsMatch(text))
        {
            return "(withheld: it looks like a token)";
        }
        return text.Length <= 300 ? text : string.Concat(text.AsSpan(0, 297), "...");
    }

    private static string Title(GrantErrorCode code)
    {
        var name = code.ToString();
        var title = new StringBuilder(name.Length + 8);
        foreach (var c in name)
        {
            if (char.IsUpper(c) && title.Length > 0)
            {
                title.Append(' ').Append(char.ToLowerInvariant(c));
            }
            else
            {
                title.Append(c);
            }
        }
        return title.ToString();
    }

    private static string Kebab(string name)
    {
        var kebab = new StringBuilder(name.Length + 8);
        foreach (var c in name)
        {
            if (char.IsUpper(c) && kebab.Length > 0)
            {
                kebab.Append('-');
            }
            kebab.Append(char.ToLowerInvariant(c));
        }
        return kebab.ToString();
    }

    // The start of a JWT: a base64url JSON header ("{"), a dot, and more.
    [GeneratedRegex(@"eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]", RegexOptions.CultureInvariant)]
    private static partial Regex Jwt();

    // A rate-limited answer says when to retry, in whole seconds (at least one), as the API's own rate limits do.
    private sealed class RetryAfter(IResult inner, TimeSpan? after) : IResult
    {
        public Task ExecuteAsync(HttpContext httpContext)
        {
            var seconds = Math.Max(1, (int)Math.Ceiling((after ?? TimeSpan.Zero).TotalSeconds));
            httpContext.Response.Headers.RetryAfter = seconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
            return inner.ExecuteAsync(httpContext);
        }
    }

    private sealed class Challenge(IResult inner) : IResult
    {
        public Task ExecuteAsync(HttpContext httpContext)
        {
            httpContext.Response.Headers.WWWAuthenticate = "Bearer";
            return inner.ExecuteAsync(httpContext);
        }
    }
}
