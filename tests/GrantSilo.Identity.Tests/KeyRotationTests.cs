using System.Net;
using System.Text;

namespace GrantSilo.Identity.Tests;

public sealed class KeyRotationTests : IDisposable
{
    private readonly IdentityWorld _world = new();

    public void Dispose() => _world.Dispose();

    [Fact]
    public async Task JwksFile_NewKeyIsPickedUpWithoutRestart_WhenATokenNamesIt()
    {
        var auth = _world.Build();
        using var next = TestKey.Es256("spire-2");
        var token = Jwt.Sign(next, Jwt.Claims(IdentityWorld.SpiffeIss, "spiffe://acme.dev/agent/a", _world.Now));
        ResultAssert.Refused(await auth.AuthenticateAsync(token), AuthenticationFailure.UnknownKey);

        _world.WriteJwks("spiffe.json", _world.SpiffeKey, next);
        _world.Time.Advance(TimeSpan.FromSeconds(30)); // the unknown-kid refresh is rate-limited to one per 30 s

        ResultAssert.Accepted(await auth.AuthenticateAsync(token));
    }

    [Fact]
    public async Task JwksFile_UnknownKidRefreshIsRateLimited()
    {
        var auth = _world.Build();
        var source = auth.Issuers[1].Keys;
        var before = source.RefreshCount;
        for (var i = 0; i < 20; i++)
        {
            var token = Jwt.Sign(_world.SpiffeKey, Jwt.Claims(IdentityWorld.SpiffeIss, "spiffe://acme.dev/a", _world.Now), kid: $"probe-{i}");
            ResultAssert.Refused(await auth.AuthenticateAsync(token), AuthenticationFailure.UnknownKey);
        }

        Assert.Equal(before + 1, source.RefreshCount);
        _world.Time.Advance(TimeSpan.FromSeconds(31));
        var later = Jwt.Sign(_world.SpiffeKey, Jwt.Claims(IdentityWorld.SpiffeIss, "spiffe://acme.dev/a", _world.Now), kid: "probe-later");
        ResultAssert.Refused(await auth.AuthenticateAsync(later), AuthenticationFailure.UnknownKey);
        Assert.Equal(before + 2, source.RefreshCount);
    }

    [Fact]
    public async Task JwksFile_NewKeyIsPickedUpOnThePeriodicRefresh()
    {
        var auth = _world.Build();
        using var next = TestKey.Es256("spire-2");
        _world.WriteJwks("spiffe.json", _world.SpiffeKey, next);
        _world.Time.Advance(TimeSpan.FromMinutes(5));

        Assert.NotNull(auth.Issuers[1].Keys.Current!.Find("spire-2"));
        var token = Jwt.Sign(next, Jwt.Claims(IdentityWorld.SpiffeIss, "spiffe://acme.dev/agent/a", _world.Now));
        ResultAssert.Accepted(await auth.AuthenticateAsync(token));
    }

    [Fact]
    public async Task JwksFile_RemovedKeyStopsVerifying_IncludingACachedToken()
    {
        var auth = _world.Build();
        var token = _world.AgentToken(lifetime: TimeSpan.FromHours(2));
        ResultAssert.Accepted(await auth.AuthenticateAsync(token));
        ResultAssert.Accepted(await auth.AuthenticateAsync(token));
        Assert.Equal(1, auth.VerificationCount);

        using var next = TestKey.Es256("spire-2");
        _world.WriteJwks("spiffe.json", next);
        _world.Time.Advance(TimeSpan.FromMinutes(5));

        ResultAssert.Refused(await auth.AuthenticateAsync(token), AuthenticationFailure.UnknownKey);
    }

    [Fact]
    public async Task JwksFile_ChangeOfOneIssuerKeepsOtherIssuersCachedCallers()
    {
        var auth = _world.Build();
        var person = _world.PersonToken();
        ResultAssert.Accepted(await auth.AuthenticateAsync(person));

        using var next = TestKey.Es256("spire-2");
        _world.WriteJwks("spiffe.json", next);
        _world.Time.Advance(TimeSpan.FromMinutes(5));

        ResultAssert.Accepted(await auth.AuthenticateAsync(person));
        Assert.Equal(1, auth.VerificationCount);
    }

    [Fact]
    public async Task JwksFile_UnreadableOrInvalidFileKeepsTheLastGoodKeySet()
    {
        var auth = _world.Build();
        await File.WriteAllTextAsync(_world.PathOf("spiffe.json"), "{ not json");
        _world.Time.Advance(TimeSpan.FromMinutes(5));
        File.Delete(_world.PathOf("spiffe.json"));
        _world.Time.Advance(TimeSpan.FromMinutes(5));

        ResultAssert.Accepted(await auth.AuthenticateAsync(_world.AgentToken()));
        Assert.Contains(_world.Logs.Entries, e => e.Message.Contains("last good key set stays in use"));
    }

    [Fact]
    public async Task JwksFile_MissingFromTheStart_FailsClosedWithKeysUnavailable()
    {
        _world.Options.Issuers[1].JwksFile = _world.PathOf("absent.json");
        var auth = _world.Build();
        ResultAssert.Refused(await auth.AuthenticateAsync(_world.AgentToken()), AuthenticationFailure.KeysUnavailable);
    }

    [Fact]
    public async Task JwksUri_KeysAreFetched_AndTheLastGoodSetIsKeptWhenFetchingFails()
    {
        var handler = new StubHandler(IdentityWorld.JwksJson(_world.SpiffeKey));
        UseUri(new Uri("https://spire.acme.test/keys"));
        var auth = _world.Build(http: new JwksHttpClient(new HttpClient(handler)));

        ResultAssert.Accepted(await auth.AuthenticateAsync(_world.AgentToken("spiffe://acme.dev/a")));

        handler.Status = HttpStatusCode.InternalServerError;
        _world.Time.Advance(TimeSpan.FromMinutes(5));
        Assert.True(handler.Calls >= 2);
        ResultAssert.Accepted(await auth.AuthenticateAsync(_world.AgentToken("spiffe://acme.dev/b")));
        Assert.Contains(_world.Logs.Entries, e => e.Message.Contains("500"));
    }

    [Fact]
    public async Task JwksUri_NeverLoaded_FailsClosedWithKeysUnavailable()
    {
        var handler = new StubHandler("") { Status = HttpStatusCode.ServiceUnavailable };
        UseUri(new Uri("https://spire.acme.test/keys"));
        var auth = _world.Build(http: new JwksHttpClient(new HttpClient(handler)));

        ResultAssert.Refused(await auth.AuthenticateAsync(_world.AgentToken()), AuthenticationFailure.KeysUnavailable);
    }

    [Fact]
    public async Task JwksUri_RotationIsFetchedWhenATokenNamesANewKid()
    {
        var handler = new StubHandler(IdentityWorld.JwksJson(_world.SpiffeKey));
        UseUri(new Uri("https://spire.acme.test/keys"));
        var auth = _world.Build(http: new JwksHttpClient(new HttpClient(handler)));
        ResultAssert.Accepted(await auth.AuthenticateAsync(_world.AgentToken()));

        using var next = TestKey.Es256("spire-2");
        handler.Body = IdentityWorld.JwksJson(next);
        var token = Jwt.Sign(next, Jwt.Claims(IdentityWorld.SpiffeIss, "spiffe://acme.dev/agent/a", _world.Now));

        ResultAssert.Accepted(await auth.AuthenticateAsync(token));
        ResultAssert.Refused(await auth.AuthenticateAsync(_world.AgentToken("spiffe://acme.dev/old")), AuthenticationFailure.UnknownKey);
    }

    [Fact]
    public async Task JwksUri_RealLoopbackListener()
    {
        var port = GrantSilo.Testing.LoopbackPorts.Reserve();
        using var listener = new HttpListener();
        listener.Prefixes.Add($"http://127.0.0.1:{port}/");
        listener.Start();
        var body = Encoding.UTF8.GetBytes(IdentityWorld.JwksJson(_world.SpiffeKey));
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var serving = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                HttpListenerContext context;
                try
                {
                    context = await listener.GetContextAsync().WaitAsync(stop.Token);
                }
                catch (Exception e) when (e is OperationCanceledException or HttpListenerException or ObjectDisposedException)
                {
                    return;
                }

                context.Response.ContentType = "application/json";
                await context.Response.OutputStream.WriteAsync(body);
                context.Response.Close();
            }
        });

        UseUri(new Uri($"http://127.0.0.1:{port}/jwks"));
        using var auth = new CallerAuthenticator(_world.Options.Wrap(), TimeProvider.System, _world.LoggerFactory);
        var result = await auth.AuthenticateAsync(Jwt.Sign(_world.SpiffeKey, Jwt.Claims(IdentityWorld.SpiffeIss, "spiffe://acme.dev/a", DateTimeOffset.UtcNow)));

        ResultAssert.Accepted(result);
        await stop.CancelAsync();
        listener.Stop();
        await serving;
    }

    private void UseUri(Uri uri)
    {
        _world.Options.Issuers[1].JwksFile = null;
        _world.Options.Issuers[1].JwksUri = uri;
    }


    private sealed class StubHandler(string body) : HttpMessageHandler
    {
        private int _calls;

        public string Body { get; set; } = body;

        public HttpStatusCode Status { get; set; } = HttpStatusCode.OK;

        public int Calls => Volatile.Read(ref _calls);

        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref _calls);
            return Task.FromResult(new HttpResponseMessage(Status) { Content = new StringContent(Status == HttpStatusCode.OK ? Body : "error") });
        }
    }
}
