using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using GrantSilo.Client;

namespace GrantSilo.EndToEnd.Workload;

/// <summary>
/// The workload's decisions and revocations through the silos' HTTP API (docs/http-api.md), as a client in front of a
/// cluster would make them: each request goes to the next silo in turn; a silo that cannot be reached, answers
/// <c>503</c> (starting, stopping) or <c>429</c> is passed over for a while (its <c>Retry-After</c>, or
/// <see cref="PassOver"/>) and the request goes to the next one, until the caller's deadline. Authorize and an end
/// (revoke) are both safe to send again. Any other answer is the answer.
/// </summary>
public sealed class SiloHttpApi : IDisposable
{
    /// <summary>How long a silo that could not be reached, or answered 503, is passed over.</summary>
    public static readonly TimeSpan PassOver = TimeSpan.FromSeconds(2);

    /// <summary>How long one attempt may take before the request goes to the next silo (a silo that accepts and never answers).</summary>
    public static readonly TimeSpan AttemptTimeout = TimeSpan.FromSeconds(10);

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);
    private readonly Uri[] _silos;
    private readonly long[] _passedOverUntil;
    private readonly HttpClient _http;
    private readonly ICallerTokenSource _caller;
    private readonly TimeProvider _time;
    private readonly long[] _served;
    private int _next = -1;

    /// <param name="silos">Each silo's HTTP API (<c>https://127.0.0.1:8081/</c>).</param>
    /// <param name="caller">The caller's token (the harness: a service with the <c>gateway</c> and <c>operator</c> roles).</param>
    /// <param name="handler">How requests are sent (<see cref="Handler"/>: HTTPS trusting only the cluster's CA).</param>
    public SiloHttpApi(IReadOnlyList<Uri> silos, ICallerTokenSource caller, HttpMessageHandler handler, TimeProvider time)
    {
        if (silos.Count == 0)
        {
            throw new ArgumentException("Name at least one silo's HTTP API.", nameof(silos));
        }
        _silos = [.. silos];
        _passedOverUntil = new long[_silos.Length];
        _served = new long[_silos.Length];
        _caller = caller;
        _time = time;
        _http = new HttpClient(handler) { Timeout = Timeout.InfiniteTimeSpan };
    }

    /// <summary>HTTPS trusting only the certificate authority in <paramref name="caFile"/> (PEM); the silo's name must match too.</summary>
    public static SocketsHttpHandler Handler(string caFile)
    {
        var authorities = new X509Certificate2Collection();
        authorities.ImportFromPemFile(caFile);
        var handler = new SocketsHttpHandler
        {
            ConnectTimeout = TimeSpan.FromSeconds(2),
            // A replaced silo comes back on the same port: connections do not outlive it for long.
            PooledConnectionLifetime = TimeSpan.FromSeconds(30),
        };
        handler.SslOptions.CertificateChainPolicy = new X509ChainPolicy
        {
            TrustMode = X509ChainTrustMode.CustomRootTrust,
            RevocationMode = X509RevocationMode.NoCheck,
        };
        handler.SslOptions.CertificateChainPolicy.CustomTrustStore.AddRange(authorities);
        return handler;
    }

    /// <summary>How many requests each silo answered (the order of the silos given).</summary>
    public IReadOnlyList<long> Served => [.. _served];

    public IReadOnlyList<Uri> Silos => _silos;

    /// <summary><c>POST /v1/authorize</c>: GrantSilo's decision (a <c>200</c> whatever it decides).</summary>
    public async Task<HttpAnswer<Decision>> AuthorizeAsync(string token, string action, ResourceRef resource, CancellationToken cancellationToken)
    {
        var answer = await SendAsync("v1/authorize", new { token, action, resource = new { type = resource.Type, path = resource.Path } }, cancellationToken);
        return answer.Map(body => new Decision
        {
            Kind = Enum.Parse<DecisionKind>(body.GetProperty("kind").GetString()!, ignoreCase: true),
            Reason = Enum.Parse<DecisionReason>(body.GetProperty("reason").GetString()!, ignoreCase: true),
            Detail = body.TryGetProperty("detail", out var detail) ? detail.GetString() : null,
            CredentialId = body.TryGetProperty("credentialId", out var credential) ? credential.GetString() : null,
        });
    }

    /// <summary><c>POST /v1/credentials/{id}/revoke</c>: the credential's status afterwards.</summary>
    public async Task<HttpAnswer<CredentialStatus>> RevokeCredentialAsync(string credentialId, string reason, CancellationToken cancellationToken) =>
        (await SendAsync($"v1/credentials/{Uri.EscapeDataString(credentialId)}/revoke", new { reason }, cancellationToken))
            .Map(body => Enum.Parse<CredentialStatus>(body.GetProperty("status").GetString()!, ignoreCase: true));

    /// <summary><c>POST /v1/tasks/{id}/revoke</c>: the task's status afterwards.</summary>
    public async Task<HttpAnswer<GrantTaskStatus>> RevokeTaskAsync(string taskId, string reason, CancellationToken cancellationToken) =>
        (await SendAsync($"v1/tasks/{Uri.EscapeDataString(taskId)}/revoke", new { reason }, cancellationToken))
            .Map(body => Enum.Parse<GrantTaskStatus>(body.GetProperty("status").GetString()!, ignoreCase: true));

    private async Task<HttpAnswer<JsonElement>> SendAsync(string path, object body, CancellationToken cancellationToken)
    {
        var attempts = 0;
        string? lastFailure = null;
        while (true)
        {
            if (cancellationToken.IsCancellationRequested)
            {
                return HttpAnswer<JsonElement>.Failed(-1, $"deadline passed after {attempts} attempts (last: {lastFailure ?? "none"})", attempts);
            }
            var silo = Pick();
            if (silo < 0)
            {
                // Every silo is passed over: wait for the first to come back, within the deadline.
                var wait = TimeSpan.FromTicks(Math.Max(_passedOverUntil.Min() - _time.GetUtcNow().UtcTicks, TimeSpan.TicksPerMillisecond * 50));
                try
                {
                    await Task.Delay(wait, _time, cancellationToken);
                }
                catch (OperationCanceledException)
                {
                }
                continue;
            }
            attempts++;
            using var attempt = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            attempt.CancelAfter(AttemptTimeout);
            try
            {
                using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(_silos[silo], path)) { Content = JsonContent.Create(body, options: Json) };
                request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", await _caller.GetTokenAsync(attempt.Token));
                using var response = await _http.SendAsync(request, attempt.Token);
                var text = await response.Content.ReadAsStringAsync(attempt.Token);
                if (response.StatusCode is HttpStatusCode.ServiceUnavailable or HttpStatusCode.TooManyRequests)
                {
                    var retryAfter = response.Headers.RetryAfter?.Delta ?? PassOver;
                    PassOverSilo(silo, retryAfter < PassOver ? retryAfter : PassOver);
                    lastFailure = $"{_silos[silo].Authority} answered {(int)response.StatusCode} {Code(text)}";
                    continue;
                }
                Interlocked.Increment(ref _served[silo]);
                if (response.StatusCode != HttpStatusCode.OK)
                {
                    return HttpAnswer<JsonElement>.Failed((int)response.StatusCode, $"{(int)response.StatusCode} {Code(text)}", attempts, _silos[silo]);
                }
                return HttpAnswer<JsonElement>.Answered(JsonDocument.Parse(text).RootElement.Clone(), attempts, _silos[silo]);
            }
            catch (Exception failed) when (failed is HttpRequestException or IOException or OperationCanceledException && !cancellationToken.IsCancellationRequested)
            {
                // Not reachable (killed, stopped, replaced), or it did not answer in time: the next silo.
                PassOverSilo(silo, PassOver);
                lastFailure = $"{_silos[silo].Authority}: {failed.GetType().Name}";
            }
            catch (OperationCanceledException)
            {
                lastFailure = $"{_silos[silo].Authority}: no answer by the deadline";
            }
        }
    }

    // The next silo in turn that is not passed over; -1 when all are.
    private int Pick()
    {
        var now = _time.GetUtcNow().UtcTicks;
        for (var i = 0; i < _silos.Length; i++)
        {
            var candidate = (int)((uint)Interlocked.Increment(ref _next) % (uint)_silos.Length);
            if (Interlocked.Read(ref _passedOverUntil[candidate]) <= now)
            {
                return candidate;
            }
        }
        return -1;
    }

    private void PassOverSilo(int silo, TimeSpan period) =>
        Interlocked.Exchange(ref _passedOverUntil[silo], _time.GetUtcNow().UtcTicks + period.Ticks);

    // The problem's code (never its detail, which might echo input).
    private static string Code(string problem)
    {
        try
        {
            using var document = JsonDocument.Parse(problem);
            return document.RootElement.TryGetProperty("code", out var code) ? code.GetString() ?? "" : "";
        }
        catch (JsonException)
        {
            return "";
        }
    }

    public void Dispose() => _http.Dispose();
}

/// <summary>What one request through <see cref="SiloHttpApi"/> came to: a value, or the failure (status -1: no silo answered in time).</summary>
public sealed record HttpAnswer<T>(T? Value, bool IsAnswered, int Status, string? Failure, int Attempts, Uri? Silo)
{
    public static HttpAnswer<T> Answered(T value, int attempts, Uri silo) => new(value, true, 200, null, attempts, silo);

    public static HttpAnswer<T> Failed(int status, string failure, int attempts, Uri? silo = null) => new(default, false, status, failure, attempts, silo);

    public HttpAnswer<TOther> Map<TOther>(Func<T, TOther> map) =>
        IsAnswered ? new(map(Value!), true, Status, null, Attempts, Silo) : new(default, false, Status, Failure, Attempts, Silo);

    /// <summary>The silo's port (how the history names the silo that answered).</summary>
    public string? Via => Silo?.Port.ToString(CultureInfo.InvariantCulture);
}
