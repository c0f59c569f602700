namespace GrantSilo.Identity.Tests;

public sealed class CacheTests : IDisposable
{
    private readonly IdentityWorld _world = new();

    public void Dispose() => _world.Dispose();

    [Fact]
    public async Task SecondAuthentication_OfTheSameToken_DoesNotVerifyAgain()
    {
        var auth = _world.Build();
        var token = _world.AgentToken();

        var first = await auth.AuthenticateAsync(token);
        var second = await auth.AuthenticateAsync(token);

        Assert.Equal(1, auth.VerificationCount);
        Assert.Same(first, second);
        Assert.Equal(1, auth.CachedCount);
    }

    [Fact]
    public async Task CachedCaller_ExpiresWithItsToken()
    {
        var auth = _world.Build();
        var token = _world.AgentToken(lifetime: TimeSpan.FromMinutes(2));
        ResultAssert.Accepted(await auth.AuthenticateAsync(token));

        _world.Time.Advance(TimeSpan.FromMinutes(2) + TimeSpan.FromSeconds(29));
        ResultAssert.Accepted(await auth.AuthenticateAsync(token));
        Assert.Equal(1, auth.VerificationCount);

        _world.Time.Advance(TimeSpan.FromSeconds(1));
        ResultAssert.Refused(await auth.AuthenticateAsync(token), AuthenticationFailure.Expired);
        Assert.Equal(0, auth.CachedCount);
    }

    [Fact]
    public async Task Refusals_AreNotCached()
    {
        var auth = _world.Build();
        var token = Jwt.Sign(_world.SpiffeKey, Jwt.Claims(IdentityWorld.SpiffeIss, "spiffe://acme.dev/x", _world.Now, aud: "other"));
        ResultAssert.Refused(await auth.AuthenticateAsync(token), AuthenticationFailure.WrongAudience);
        Assert.Equal(0, auth.CachedCount);
    }

    [Fact]
    public async Task Cache_IsBounded_AndDropsExpiredEntriesFirst()
    {
        _world.Options.CacheSize = 10;
        var auth = _world.Build();
        for (var i = 0; i < 5; i++)
        {
            ResultAssert.Accepted(await auth.AuthenticateAsync(_world.AgentToken($"spiffe://acme.dev/short/{i}", TimeSpan.FromMinutes(1))));
        }

        var longLived = new List<string>();
        for (var i = 0; i < 5; i++)
        {
            longLived.Add(_world.AgentToken($"spiffe://acme.dev/long/{i}", TimeSpan.FromHours(1)));
            ResultAssert.Accepted(await auth.AuthenticateAsync(longLived[^1]));
        }

        _world.Time.Advance(TimeSpan.FromMinutes(5));
        ResultAssert.Accepted(await auth.AuthenticateAsync(_world.AgentToken("spiffe://acme.dev/new")));

        Assert.Equal(6, auth.CachedCount);
        var verified = auth.VerificationCount;
        foreach (var token in longLived)
        {
            ResultAssert.Accepted(await auth.AuthenticateAsync(token));
        }

        Assert.Equal(verified, auth.VerificationCount);

        for (var i = 0; i < 30; i++)
        {
            ResultAssert.Accepted(await auth.AuthenticateAsync(_world.AgentToken($"spiffe://acme.dev/more/{i}")));
            Assert.True(auth.CachedCount <= 10);
        }
    }

    [Fact]
    public async Task CacheHit_AllocatesNothing()
    {
        var auth = _world.Build();
        var token = _world.AgentToken();
        ResultAssert.Accepted(await auth.AuthenticateAsync(token));
        var hits = 0;
        for (var i = 0; i < 100; i++)
        {
            hits += Hit(auth, token);
        }

        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 1000; i++)
        {
            hits += Hit(auth, token);
        }

        Assert.Equal(1100, hits);
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.True(allocated < 1000, $"a cache hit allocated {allocated / 1000.0} bytes on average");
    }

    // Completed synchronously on a hit: no await machinery involved.
    private static int Hit(CallerAuthenticator auth, string token)
    {
        var pending = auth.AuthenticateAsync(token);
        return pending.IsCompletedSuccessfully && pending.Result.IsSuccess ? 1 : 0;
    }
}
