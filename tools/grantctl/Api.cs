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

/// <summary>Calls GrantSilo's HTTP API as the logged-in caller; a problem answer becomes a <see cref="GrantctlException"/>.</summary>
internal sealed class Api(Uri baseAddress, string? token) : IDisposable
{
    private readonly HttpClient _http = new() { BaseAddress = baseAddress, Timeout = Timeout.InfiniteTimeSpan };

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
        var where = problem?["field"]?.GetValue<string>() ?? problem?["permission"]?.GetValue<string>();
        var message = $"{title} ({(int)response.StatusCode}){(detail is null ? "" : ": " + detail)}{(where is null ? "" : $" [{where}]")}";
        throw response.StatusCode switch
        {
            HttpStatusCode.Unauthorized => new GrantctlException(ExitCodes.NotPermitted, message, "Log in again: grantctl login (your token may have expired)."),
            HttpStatusCode.Forbidden => new GrantctlException(ExitCodes.NotPermitted, message, "Ask for the role this needs, or log in as a caller who has it."),
            >= HttpStatusCode.InternalServerError => new GrantctlException(ExitCodes.Unavailable, message, "Retry; an end (revoke, complete) is always safe to retry."),
            _ => new GrantctlException(ExitCodes.Refused, message),
        };
    }

    public void Dispose() => _http.Dispose();
}
