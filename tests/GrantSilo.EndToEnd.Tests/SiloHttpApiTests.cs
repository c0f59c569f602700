using System.Net;
using System.Text;
using GrantSilo.Client;
using GrantSilo.EndToEnd.Workload;
using Microsoft.Extensions.Time.Testing;

namespace GrantSilo.EndToEnd.Tests;

/// <summary>
/// The container workload's HTTP client (<see cref="SiloHttpApi"/>) behaves as a client in front of a changing cluster:
/// it spreads requests across the silos, passes over one that cannot be reached or answers 503/429 (for its
/// Retry-After, at most <see cref="SiloHttpApi.PassOver"/>), tries it again afterwards, returns any other answer as
/// the answer, and gives up at the caller's deadline instead of hanging. The container test relies on each of these.
/// </summary>
public sealed class SiloHttpApiTests
{
    private static readonly ResourceRef Document = new() { Type = "repo", Path = "acme/payments/README.md" };
    private static readonly Uri A = new("https://127.0.0.1:8081/");
    private static readonly Uri B = new("https://127.0.0.1:8082/");
    private static readonly Uri C = new("https://127.0.0.1:8083/");

    [Fact]
    public async Task Authorize_PassesOverAnUnreachableAndAStartingSilo_AndIsAnsweredByTheNext()
    {
        var silos = new Silos { [A] = _ => throw new HttpRequestException("connection refused"), [B] = _ => Problem(HttpStatusCode.ServiceUnavailable, "not-ready"), [C] = _ => Allow() };
        var time = new FakeTimeProvider(DateTimeOffset.UnixEpoch);
        using var api = new SiloHttpApi([A, B, C], new StaticCallerToken("harness-token"), silos, time);

        var first = await api.AuthorizeAsync("credential-token", "read", Document, CancellationToken.None);
        Assert.True(first.IsAnswered);
        Assert.Equal(C, first.Silo);
        Assert.Equal(3, first.Attempts);
        Assert.True(first.Value!.IsAllowed);
        // Both are passed over now: the next requests go to C alone.
        for (var i = 0; i < 4; i++)
        {
            Assert.Equal(C, (await api.AuthorizeAsync("credential-token", "read", Document, CancellationToken.None)).Silo);
        }
        Assert.Equal(1, silos.Requests(A));
        Assert.Equal(1, silos.Requests(B));
        // After the pass-over period they are tried again, and a silo that came back is used.
        silos[B] = _ => Allow();
        time.Advance(SiloHttpApi.PassOver);
        var answeredBy = new List<Uri>();
        for (var i = 0; i < 4; i++)
        {
            answeredBy.Add((await api.AuthorizeAsync("credential-token", "read", Document, CancellationToken.None)).Silo!);
        }
        Assert.Contains(B, answeredBy);
        Assert.Equal(2, silos.Requests(A));
        Assert.Equal([0L, 2L, 7L], api.Served);
    }

    [Fact]
    public async Task EveryRequest_CarriesTheCallersBearerToken_AndTheCredentialOnlyInTheBody()
    {
        var silos = new Silos { [A] = _ => Allow() };
        using var api = new SiloHttpApi([A], new StaticCallerToken("harness-token"), silos, new FakeTimeProvider());

        await api.AuthorizeAsync("credential-token", "read", Document, CancellationToken.None);

        var (request, body) = Assert.Single(silos.Seen);
        Assert.Equal("Bearer harness-token", request.Headers.Authorization?.ToString());
        Assert.Equal(new Uri(A, "v1/authorize"), request.RequestUri);
        Assert.DoesNotContain("credential-token", request.RequestUri!.ToString(), StringComparison.Ordinal);
        Assert.Contains("\"token\":\"credential-token\"", body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ARefusal_IsTheAnswer_NotRetriedElsewhere()
    {
        var silos = new Silos { [A] = _ => Problem(HttpStatusCode.Forbidden, "forbidden"), [B] = _ => Allow() };
        using var api = new SiloHttpApi([A, B], new StaticCallerToken("harness-token"), silos, new FakeTimeProvider());

        var answer = await api.RevokeCredentialAsync("cred-1", "e2e", CancellationToken.None);

        Assert.False(answer.IsAnswered);
        Assert.Equal(403, answer.Status);
        Assert.Equal("403 forbidden", answer.Failure);
        Assert.Equal(0, silos.Requests(B));
    }

    [Fact]
    public async Task RateLimited_WaitsForRetryAfter_OnThatSiloOnly()
    {
        var silos = new Silos
        {
            [A] = _ => Problem(HttpStatusCode.TooManyRequests, "rate-limited", retryAfterSeconds: 1),
            [B] = _ => Json("""{"status":"revoked","taskId":"t-1"}"""),
        };
        var time = new FakeTimeProvider(DateTimeOffset.UnixEpoch);
        using var api = new SiloHttpApi([A, B], new StaticCallerToken("harness-token"), silos, time);

        var revoked = await api.RevokeTaskAsync("t-1", "e2e", CancellationToken.None);
        Assert.Equal(GrantTaskStatus.Revoked, revoked.Value);
        Assert.Equal(B, revoked.Silo);
        await api.RevokeTaskAsync("t-1", "e2e", CancellationToken.None);
        Assert.Equal(1, silos.Requests(A));
        time.Advance(TimeSpan.FromSeconds(1));
        await api.RevokeTaskAsync("t-1", "e2e", CancellationToken.None);
        await api.RevokeTaskAsync("t-1", "e2e", CancellationToken.None);
        Assert.Equal(2, silos.Requests(A));
    }

    [Fact]
    public async Task NoSiloAnswering_EndsAtTheCallersDeadline_AsATimeout()
    {
        var silos = new Silos { [A] = _ => throw new HttpRequestException("connection refused"), [B] = _ => Problem(HttpStatusCode.ServiceUnavailable, "not-ready") };
        using var api = new SiloHttpApi([A, B], new StaticCallerToken("harness-token"), silos, new FakeTimeProvider(DateTimeOffset.UnixEpoch));
        using var deadline = new CancellationTokenSource();

        // Both silos are passed over, so the request waits (on the fake clock, which does not move) until the deadline.
        var pending = api.AuthorizeAsync("credential-token", "read", Document, deadline.Token);
        await GrantSilo.Testing.Eventually.HoldsAsync(() => Task.FromResult(silos.Requests(A) == 1 && silos.Requests(B) == 1), TimeSpan.FromSeconds(10), "both silos tried once");
        Assert.False(pending.IsCompleted);
        await deadline.CancelAsync();
        var answer = await pending.WaitAsync(TimeSpan.FromSeconds(10));

        Assert.False(answer.IsAnswered);
        Assert.Equal(-1, answer.Status);
        Assert.Contains("deadline passed after 2 attempts", answer.Failure, StringComparison.Ordinal);
    }

    private static HttpResponseMessage Allow() =>
        Json("""{"kind":"allow","reason":"allowed","credentialId":"cred-1","decidedAt":"2026-01-01T00:00:00+00:00","determiningPolicies":[]}""");

    private static HttpResponseMessage Json(string json) => new(HttpStatusCode.OK) { Content = new StringContent(json, Encoding.UTF8, "application/json") };

    private static HttpResponseMessage Problem(HttpStatusCode status, string code, int? retryAfterSeconds = null)
    {
        var response = new HttpResponseMessage(status) { Content = new StringContent($$"""{"type":"urn:grantsilo:problem:{{code}}","status":{{(int)status}},"code":"{{code}}","detail":"echo"}""", Encoding.UTF8, "application/problem+json") };
        if (retryAfterSeconds is { } seconds)
        {
            response.Headers.RetryAfter = new System.Net.Http.Headers.RetryConditionHeaderValue(TimeSpan.FromSeconds(seconds));
        }
        return response;
    }

    /// <summary>Silos by their base address: what each answers, and what each was sent.</summary>
    private sealed class Silos : HttpMessageHandler
    {
        private readonly Dictionary<string, Func<HttpRequestMessage, HttpResponseMessage>> _answers = [];
        private readonly Dictionary<string, int> _requests = [];

        public List<(HttpRequestMessage Request, string Body)> Seen { get; } = [];

        public Func<HttpRequestMessage, HttpResponseMessage> this[Uri silo]
        {
            set
            {
                lock (_answers)
                {
                    _answers[silo.Authority] = value;
                }
            }
        }

        public int Requests(Uri silo)
        {
            lock (_answers)
            {
                return _requests.GetValueOrDefault(silo.Authority);
            }
        }

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var body = request.Content is null ? "" : await request.Content.ReadAsStringAsync(cancellationToken);
            Func<HttpRequestMessage, HttpResponseMessage> answer;
            lock (_answers)
            {
                var silo = request.RequestUri!.Authority;
                _requests[silo] = _requests.GetValueOrDefault(silo) + 1;
                Seen.Add((request, body));
                answer = _answers[silo];
            }
            return answer(request);
        }
    }
}
