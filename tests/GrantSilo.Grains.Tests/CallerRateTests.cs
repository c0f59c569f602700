using System.Security.Cryptography;
using GrantSilo.Client;
using GrantSilo.GrainInterfaces;
using GrantSilo.Grains.Access;
using GrantSilo.Grains.Audit;
using GrantSilo.Grains.Hosting;
using GrantSilo.Hosting;
using GrantSilo.Identity;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Orleans.TestingHost;

namespace GrantSilo.Grains.Tests;

/// <summary>
/// Every authenticated caller through a silo's gateway has a token bucket (GrantSilo:Callers): past it the door refuses
/// with RateLimited and says when to retry, on the grant clock. The HTTP API's own calls, limited by the API already,
/// carry a mark only a silo can make and take nothing; the table of buckets stays bounded however many callers come.
/// </summary>
[Collection(CallerRateClusterCollection.Name)]
public class CallerRateTests(CallerRateClusterFixture fixture)
{
    private static string Someone() => $"person:rate-{Guid.NewGuid():N}@test.dev";

    private static string MadeUpTask() => $"t-{Guid.NewGuid():N}";

    // A task read by a person without any role: refused Forbidden while within its rate (the bucket is taken first), and
    // RateLimited once past it.
    private Task<GrantResult<TaskInfo>> ReadAsync(GrantClient caller) => caller.GetTaskAsync(MadeUpTask());

    [Fact]
    public async Task ACallerPastItsBurst_IsRefusedRateLimited_WithWhenToRetry_AndRecoversOnTheGrantClock()
    {
        var name = Someone();
        var caller = fixture.Client.AsPerson(name);
        for (var i = 0; i < CallerRateClusterFixture.Burst; i++)
        {
            Assert.Equal(GrantErrorCode.Forbidden, (await ReadAsync(caller)).Error?.Code);
        }

        var limited = await ReadAsync(caller);
        Assert.Equal(GrantErrorCode.RateLimited, limited.Error?.Code);
        // One call refills in 1 / PermitsPerSecond seconds.
        Assert.Equal(TimeSpan.FromSeconds(1.0 / CallerRateClusterFixture.PermitsPerSecond), limited.Error!.RetryAfter);
        Assert.Contains("GrantSilo:Callers:PermitsPerSecond", limited.Error.Message);
        // The SDK's exception carries the hint too.
        var thrown = Assert.Throws<GrantException>(() => limited.Value);
        Assert.Equal(GrantErrorCode.RateLimited, thrown.Error.Code);
        Assert.Equal(limited.Error.RetryAfter, thrown.RetryAfter);

        // Recorded like every refusal of the door: audited with the caller and its own reason.
        await Eventually.LastAsync(
            () => Task.FromResult(fixture.AuditedRecords().Where(r => r.Kind == AuditEventKind.CallerRefused && r.Reason == DecisionReason.CallerRateLimited && r.CallerName == name).ToList()),
            r => r.Count > 0);

        // Nothing is waited for: the grant clock moves, and the bucket refills.
        fixture.Time.Advance(limited.Error.RetryAfter!.Value);
        Assert.Equal(GrantErrorCode.Forbidden, (await ReadAsync(caller)).Error?.Code);
        Assert.Equal(GrantErrorCode.RateLimited, (await ReadAsync(caller)).Error?.Code);
    }

    [Fact]
    public async Task TwoCallers_DoNotShareABucket()
    {
        var first = fixture.Client.AsPerson(Someone());
        var second = fixture.Client.AsPerson(Someone());
        for (var i = 0; i < CallerRateClusterFixture.Burst; i++)
        {
            await ReadAsync(first);
        }
        Assert.Equal(GrantErrorCode.RateLimited, (await ReadAsync(first)).Error?.Code);

        for (var i = 0; i < CallerRateClusterFixture.Burst; i++)
        {
            Assert.Equal(GrantErrorCode.Forbidden, (await ReadAsync(second)).Error?.Code);
        }
        Assert.Equal(GrantErrorCode.RateLimited, (await ReadAsync(second)).Error?.Code);
    }

    [Fact]
    public async Task AnAuthorizeDecision_PastTheRate_IsADenyThatSaysWhenToRetry()
    {
        var gateway = fixture.Client.As(TestIdentity.Shared.Service($"service:rate-gw-{Guid.NewGuid():N}", "gateway"));
        // A well-formed token for a credential that does not exist: a deny from the grain while within the rate.
        var token = $"eyJhbGciOiJFUzI1NiJ9.{System.Buffers.Text.Base64Url.EncodeToString(System.Text.Encoding.UTF8.GetBytes($"{{\"jti\":\"{CredentialToken.NewCredentialId()}\"}}"))}.c2ln";
        Assert.True(CredentialToken.TryParse(token, out _, out _));
        for (var i = 0; i < CallerRateClusterFixture.Burst; i++)
        {
            Assert.NotEqual(DecisionReason.CallerRateLimited, (await gateway.AuthorizeAsync(token, "read", new ResourceRef { Type = "doc", Path = "a" })).Reason);
        }
        var limited = await gateway.AuthorizeAsync(token, "read", new ResourceRef { Type = "doc", Path = "a" });
        Assert.False(limited.IsAllowed);
        Assert.Equal(DecisionReason.CallerRateLimited, limited.Reason);
        Assert.Equal(TimeSpan.FromSeconds(1.0 / CallerRateClusterFixture.PermitsPerSecond), limited.RetryAfter);
    }

    [Fact]
    public async Task TheHttpApisInSiloCalls_AreNotLimitedByTheGatewaysBucket()
    {
        var name = Someone();
        var token = TestIdentity.Shared.PersonToken(name);
        // As the HTTP API calls: in the silo's process, in an outside-call scope, with the caller's own token (the API has
        // limited the caller by GrantSilo:Http:PermitsPerSecond already).
        for (var i = 0; i < CallerRateClusterFixture.Burst * 4; i++)
        {
            Assert.Equal(GrantErrorCode.Forbidden, (await InSiloAsync(token)).Error?.Code);
        }

        // The same caller through the gateway still has its whole burst: the in-silo calls took nothing from it.
        var caller = fixture.Client.AsPerson(name);
        for (var i = 0; i < CallerRateClusterFixture.Burst; i++)
        {
            Assert.Equal(GrantErrorCode.Forbidden, (await ReadAsync(caller)).Error?.Code);
        }
        Assert.Equal(GrantErrorCode.RateLimited, (await ReadAsync(caller)).Error?.Code);
    }

    private async Task<GrantResult<TaskInfo>> InSiloAsync(string token)
    {
        using var outside = OutsideCalls.Enter();
        TestIdentity.Attach(token);
        try
        {
            return await fixture.SiloGrains.GetGrain<ITaskGrain>(MadeUpTask()).GetAsync();
        }
        finally
        {
            RequestContext.Clear();
        }
    }

    [Fact]
    public async Task AnOutsideCaller_CannotClaimTheHttpApisExemption()
    {
        var token = TestIdentity.Shared.PersonToken(Someone());
        var key = ((InProcessSiloHandle)fixture.Cluster.Primary!).SiloHost.Services.GetRequiredService<ClusterCallKey>();
        var seen = fixture.Cluster.Client.GetGrain<ITaskGrain>(MadeUpTask());
        // Whatever a client can put in the header: random bytes, the internal mark for the target (a mark of another
        // kind), or a genuine limited-door mark seen for another target.
        var claims = new List<Func<ITaskGrain, byte[]>>
        {
            _ => RandomNumberGenerator.GetBytes(32),
            target => key.Mark(new(((GrainReference)target).GrainId)),
            _ => key.LimitedDoorMark(((GrainReference)seen).GrainId),
        };
        var refused = 0;
        for (var i = 0; i < CallerRateClusterFixture.Burst * 3; i++)
        {
            var target = fixture.Cluster.Client.GetGrain<ITaskGrain>(MadeUpTask());
            TestIdentity.Attach(token);
            RequestContext.Set(ClusterCallKey.LimitedDoorHeader, claims[i % claims.Count](target));
            try
            {
                if ((await target.GetAsync()).Error?.Code == GrantErrorCode.RateLimited)
                {
                    refused++;
                }
            }
            finally
            {
                RequestContext.Clear();
            }
        }
        Assert.Equal(CallerRateClusterFixture.Burst * 2, refused);
    }

    [Fact]
    public async Task UnauthenticatedCalls_AreNotTracked()
    {
        var rates = ((InProcessSiloHandle)fixture.Cluster.Primary!).SiloHost.Services.GetRequiredService<CallerRates>();
        var before = rates.Tracked;
        for (var i = 0; i < 20; i++)
        {
            TestIdentity.Attach("not-a-token-" + i);
            try
            {
                Assert.Equal(GrantErrorCode.Unauthenticated, (await fixture.Cluster.Client.GetGrain<ITaskGrain>(MadeUpTask()).GetAsync()).Error?.Code);
            }
            finally
            {
                RequestContext.Clear();
            }
        }
        Assert.Equal(before, rates.Tracked);
    }

    [Fact]
    public void TheTable_StaysBounded_UnderManyCallers_AndForgetsIdleOnes()
    {
        var clock = new FakeTimeProvider(Testing.GrantSiloClusterFixture.Start);
        var rates = new CallerRates(Options.Create(new CallerLimitOptions { PermitsPerSecond = 10, Burst = 20, MaxTrackedCallers = 64 }), clock);
        for (var i = 0; i < 10_000; i++)
        {
            Assert.True(rates.TryAcquire(TestCallers.Of(CallerKind.Person, $"person:p{i}"), out _));
            Assert.InRange(rates.Tracked, 1, 64);
        }

        // A busy caller keeps its bucket while idle ones (refilled: nothing to remember) make way for new callers.
        var busy = TestCallers.Of(CallerKind.Person, "person:busy");
        for (var i = 0; i < 20; i++)
        {
            Assert.True(rates.TryAcquire(busy, out _));
        }
        Assert.False(rates.TryAcquire(busy, out var retry));
        Assert.Equal(TimeSpan.FromSeconds(0.1), retry);
        clock.Advance(TimeSpan.FromSeconds(0.1));
        for (var i = 0; i < 40; i++)
        {
            Assert.True(rates.TryAcquire(TestCallers.Of(CallerKind.Person, $"person:late{i}"), out _));
            Assert.InRange(rates.Tracked, 1, 64);
        }
        Assert.True(rates.TryAcquire(busy, out _));
        Assert.False(rates.TryAcquire(busy, out _));
    }

    [Fact]
    public void Options_OutOfRange_AreRefusedAtStart()
    {
        var validator = new DataAnnotationValidateOptions<CallerLimitOptions>(null);
        var failed = validator.Validate(null, new CallerLimitOptions { PermitsPerSecond = 0, Burst = 0, MaxTrackedCallers = 1 });
        Assert.True(failed.Failed);
        Assert.Contains(failed.Failures!, f => f.Contains("GrantSilo:Callers:PermitsPerSecond", StringComparison.Ordinal));
        Assert.Contains(failed.Failures!, f => f.Contains("GrantSilo:Callers:Burst", StringComparison.Ordinal));
        Assert.Contains(failed.Failures!, f => f.Contains("GrantSilo:Callers:MaxTrackedCallers", StringComparison.Ordinal));
        Assert.True(validator.Validate(null, new CallerLimitOptions()).Succeeded);
    }
}

/// <summary>A silo whose callers may each make <see cref="Burst"/> calls at once and <see cref="PermitsPerSecond"/> a second, on the fake grant clock.</summary>
public sealed class CallerRateClusterFixture : Testing.GrantSiloClusterFixture
{
    public const int PermitsPerSecond = 2;
    public const int Burst = 5;

    public IReadOnlyList<AuditRecord> AuditedRecords()
    {
        var store = ((InProcessSiloHandle)Cluster.Primary!).SiloHost.Services.GetRequiredService<IAuditStore>();
        return [.. store.ReadAsync("local", 1, CancellationToken.None).ToBlockingEnumerable().Select(l => l.TryReadRecord()!)];
    }

    // The harness would spend its own bucket publishing it; these tests read nothing a catalog labels.
    protected override bool PublishesPermissiveCatalog => false;

    protected override void ConfigureSilo(ISiloBuilder silo)
    {
        silo.AddMemoryGrainStorage(GrantSiloStorage.Name);
        silo.UseInMemoryReminderService();
        silo.Services.AddKeyedSingleton<TimeProvider>(GrantSiloTime.ServiceKey, Time);
        silo.AddGrantSilo();
        silo.Services.Configure<CallerLimitOptions>(o =>
        {
            o.PermitsPerSecond = PermitsPerSecond;
            o.Burst = Burst;
        });
    }
}

[CollectionDefinition(Name)]
public sealed class CallerRateClusterCollection : ICollectionFixture<CallerRateClusterFixture>
{
    public const string Name = "caller-rate-cluster";
}
