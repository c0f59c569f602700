using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace GrantSilo.Grantctl;

/// <summary>The exit codes of grantctl (documented in docs/grantctl.md).</summary>
internal static class ExitCodes
{
    public const int Ok = 0;

    /// <summary>GrantSilo refused the request (a 4xx problem other than 401/403).</summary>
    public const int Refused = 1;

    /// <summary>The command line is wrong.</summary>
    public const int Usage = 2;

    /// <summary><c>authorize</c> answered a deny or a step-up.</summary>
    public const int NotAllowed = 3;

    /// <summary>Not logged in, the token was refused (401), or the caller lacks the role (403).</summary>
    public const int NotPermitted = 4;

    /// <summary>GrantSilo could not be reached or could not answer (5xx, connection refused, timeout).</summary>
    public const int Unavailable = 5;
}

/// <summary>A failure the command reports: what GrantSilo said (a problem's title and detail) and what to do.</summary>
internal sealed class GrantctlException(int exitCode, string message, string? hint = null) : Exception(message)
{
    public int ExitCode { get; } = exitCode;

    public string? Hint { get; } = hint;
}

/// <summary>
/// Calls GrantSilo's HTTP API as the logged-in caller; a problem answer becomes a <see cref="GrantctlException"/>. The
/// address must be https, or http on this machine (loopback): the caller's token goes with every request, and never in
/// the clear over a network.
/// </summary>
internal sealed class Api(Uri baseAddress, string? token) : IDisposable
{
    private readonly HttpClient _http = new() { BaseAddress = Safe(baseAddress), Timeout = Timeout.InfiniteTimeSpan };

    /// <summary>GrantSilo's HTTP API.</summary>
    public Uri BaseAddress => baseAddress;

    /// <summary>The caller's bearer token (kept for a proxy that calls as the caller; never printed).</summary>
    public string? Token => token;

    public Task<JsonNode> GetAsync(string path, CancellationToken cancellationToken) => SendAsync(HttpMethod.Get, path, null, cancellationToken);

    public Task<JsonNode> PostAsync(string path, object? body, CancellationToken cancellationToken) => SendAsync(HttpMethod.Post, path, body ?? new { }, cancellationToken);

    public async Task<JsonNode> SendAsync(HttpMethod method, string path, object? body, CancellationToken cancellationToken)
    {
        using var response = await SendRawAsync(method, path, body, HttpCompletionOption.ResponseContentRead, cancellationToken).ConfigureAwait(false);
        var text = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
        ThrowIfProblem(response, text);
        return JsonNode.Parse(text) ?? new JsonObject();
    }

    /// <summary>A GET whose answer is only checked (a problem is thrown), not parsed.</summary>
    public async Task GetRawAsync(string path, CancellationToken cancellationToken)
    {
        using var response = await SendRawAsync(HttpMethod.Get, path, null, HttpCompletionOption.ResponseContentRead, cancellationToken).ConfigureAwait(false);
        ThrowIfProblem(response, await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false));
    }

    /// <summary>A streamed answer (server-sent events): the caller reads the body; a problem is thrown first.</summary>
    public async Task<HttpResponseMessage> StreamAsync(string path, CancellationToken cancellationToken)
    {
        var response = await SendRawAsync(HttpMethod.Get, path, null, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
        if (!response.IsSuccessStatusCode)
        {
            using (response)
            {
                ThrowIfProblem(response, await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false));
            }
        }
        return response;
    }

    private async Task<HttpResponseMessage> SendRawAsync(HttpMethod method, string path, object? body, HttpCompletionOption completion, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(method, new Uri(path, UriKind.Relative));
        if (token is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }
        if (body is not null)
        {
            request.Content = new StringContent(JsonSerializer.Serialize(body, JsonSerializerOptions.Web), Encoding.UTF8, "application/json");
        }
        try
        {
            return await _http.SendAsync(request, completion, cancellationToken).ConfigureAwait(false);
        }
        catch (HttpRequestException unreachable)
        {
            throw new GrantctlException(ExitCodes.Unavailable, $"GrantSilo at {_http.BaseAddress} could not be reached ({unreachable.Message}).",
                "Check that the silo runs and serves its HTTP API there (grantctl login --url, or GRANTCTL_URL).");
        }
    }

    private static void ThrowIfProblem(HttpResponseMessage response, string text)
    {
        if (response.IsSuccessStatusCode)
        {
            return;
        }
        JsonNode? problem = null;
        try
        {
            problem = JsonNode.Parse(text);
        }
        catch (JsonException)
        {
        }
        var title = problem?["title"]?.GetValue<string>() ?? response.ReasonPhrase ?? "Error";
        var detail = problem?["detail"]?.GetValue<string>();
        var field = problem?["field"]?.GetValue<string>();
        var permission = problem?["permission"]?.GetValue<string>();
        var at = string.Join(", ", new[] { field is null ? null : $"field {field}", permission is null ? null : $"permission {permission}" }.Where(p => p is not null));
        var message = $"{title} ({(int)response.StatusCode}){(detail is null ? "" : ": " + detail)}{(at.Length == 0 ? "" : $" [{at}]")}";
        throw response.StatusCode switch
        {
            HttpStatusCode.Unauthorized => new GrantctlException(ExitCodes.NotPermitted, message, "Log in again: grantctl login (your token may have expired)."),
            HttpStatusCode.Forbidden => new GrantctlException(ExitCodes.NotPermitted, message, "Ask for the role this needs, or log in as a caller who has it."),
            >= HttpStatusCode.InternalServerError => new GrantctlException(ExitCodes.Unavailable, message, "Retry; an end (revoke, complete) is always safe to retry."),
            _ => new GrantctlException(ExitCodes.Refused, message, Hint(response, field, permission)),
        };
    }

    // What to do about a refusal the caller can fix (exit 1), by status: docs/grantctl.md lists them.
    private static string? Hint(HttpResponseMessage response, string? field, string? permission)
    {
        var path = response.RequestMessage?.RequestUri?.AbsolutePath ?? "";
        return (int)response.StatusCode switch
        {
            404 => $"Check the id{Lister(path)}.",
            409 => Conflict(path),
            429 => $"Too many requests from you: retry after {RetryAfter(response)}.",
            400 or 422 when field is not null => $"Fix {field} and run the command again{(permission is null ? "." : $"; the permission {permission} is the one at fault.")}",
            400 or 422 when permission is not null => $"Ask for less: the permission {permission} is more than is allowed here (see the detail), so leave it out or narrow it.",
            400 or 422 => "Fix the request as the detail says and run the command again.",
            _ => null,
        };
    }

    // A conflict is about the target's state now: where to see it, and what that state still allows.
    private static string Conflict(string path)
    {
        var segments = path.Split('/', StringSplitOptions.RemoveEmptyEntries);
        var (kind, id) = (segments.Length > 1 ? segments[1] : "", segments.Length > 2 ? Uri.UnescapeDataString(segments[2]) : null);
        return (kind, id) switch
        {
            ("agents", null) => "An agent with this workload id is registered already: show it with grantctl agents get ID.",
            ("agents", _) => $"Show its state with grantctl agents get {id}: a suspended agent can be resumed; a retired one stays retired (register a new workload id).",
            ("tasks", _) => $"Show its state with grantctl tasks get {id}: a revoked, completed or expired task stays ended (create or delegate a new one); "
                + "only a task waiting at its checkpoint can be re-authorized.",
            ("sessions", _) => $"Show its state with grantctl sessions get {id}: an ended session stays ended; open a new one with grantctl sessions open.",
            ("credentials", _) => $"Show its state with grantctl credentials get {id}: a revoked or expired credential stays so; issue a new one with grantctl credentials issue.",
            ("approvals", _) => "The approval was decided or expired already, and is decided once: see grantctl approvals list; a new step-up asks again.",
            _ => "The detail above says the state it is in now; act on that state.",
        };
    }

    private static string Lister(string path) => path switch
    {
        _ when path.StartsWith("/v1/tasks/", StringComparison.Ordinal) => ": list an agent's tasks with grantctl tasks list --agent ID, or draw a root task's tree with grantctl tasks tree ID",
        _ when path.StartsWith("/v1/agents/", StringComparison.Ordinal) => " (an agent's workload id is its SPIFFE ID, as registered): show one with grantctl agents get ID",
        _ when path.StartsWith("/v1/sessions/", StringComparison.Ordinal) => ": list an agent's sessions with grantctl agents sessions ID",
        _ when path.StartsWith("/v1/credentials/", StringComparison.Ordinal) => ": list a task's credentials with grantctl tasks credentials ID",
        _ when path.StartsWith("/v1/approvals/", StringComparison.Ordinal) => ": list the approvals waiting with grantctl approvals list",
        _ when path.StartsWith("/v1/policies/versions/", StringComparison.Ordinal) => ": list the versions with grantctl policy versions",
        _ when path.StartsWith("/v1/audit/", StringComparison.Ordinal) => ": find records with grantctl audit query",
        _ => "",
    };

    private static string RetryAfter(HttpResponseMessage response) => response.Headers.RetryAfter switch
    {
        { Delta: { } delta } => $"{Math.Max(1, (int)Math.Ceiling(delta.TotalSeconds))} seconds (Retry-After)",
        { Date: { } date } => $"{date:u} (Retry-After)",
        _ => "a few seconds",
    };

    public void Dispose() => _http.Dispose();

    /// <summary>
    /// <paramref name="address"/> when a bearer token may be sent to it: https anywhere, plain http only to a loopback host
    /// (<c>127.0.0.0/8</c>, <c>::1</c>, <c>localhost</c>), where nothing crosses a network. Anything else is refused before
    /// a connection is made.
    /// </summary>
    public static Uri Safe(Uri address)
    {
        ArgumentNullException.ThrowIfNull(address);
        if (address.Scheme == Uri.UriSchemeHttps || (address.Scheme == Uri.UriSchemeHttp && address.IsLoopback))
        {
            return address;
        }
        var shown = new UriBuilder(address) { UserName = "", Password = "", Query = "", Fragment = "" }.Uri.GetLeftPart(UriPartial.Authority);
        throw new GrantctlException(ExitCodes.Usage,
            address.Scheme == Uri.UriSchemeHttp
                ? $"'{shown}' is plain http beyond this machine: grantctl sends your token with every request and never in the clear over a network."
                : $"'{shown}' is not an http or https URL.",
            "Use the silo's https address (GrantSilo serves its API beyond loopback over HTTPS only), or http://127.0.0.1:PORT on the silo's own machine.");
    }
}
