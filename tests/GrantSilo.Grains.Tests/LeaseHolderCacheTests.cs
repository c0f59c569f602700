using GrantSilo.Grains.Leases;
using Microsoft.Extensions.Time.Testing;

namespace GrantSilo.Grains.Tests;

/// <summary>The holder side of decision leases, without a cluster.</summary>
public sealed class LeaseHolderCacheTests
{
    private readonly FakeTimeProvider _clock = new();

    [Fact]
    public async Task AnAnswerIsHeldForItsLease_CountedFromWhenTheAskingBegan()
    {
        var cache = new LeaseHolderCache(_clock);
        var held = cache.Hold<string>();
        var (answered, answer) = await cache.AskAsync(
            () =>
            {
                _clock.Advance(TimeSpan.FromMilliseconds(500)); // the source takes half a second to answer
                return ValueTask.FromResult("usable");
            },
            (value, askedAt) => held.Keep(value, TimeSpan.FromSeconds(2), askedAt));

        Assert.True(answered);
        Assert.Equal("usable", answer);
        Assert.True(held.TryGet(_clock.GetTimestamp(), out _));
        Assert.Equal(TimeSpan.FromSeconds(1.5), held.Remaining());
        _clock.Advance(TimeSpan.FromSeconds(1.5));
        Assert.False(held.TryGet(_clock.GetTimestamp(), out _));
    }

    [Fact]
    public async Task AnAnswerOvertakenByAnInvalidation_IsAskedAgain_AndNeverKept()
    {
        var cache = new LeaseHolderCache(_clock);
        var held = cache.Hold<string>();
        var asks = 0;
        var (answered, answer) = await cache.AskAsync(
            () =>
            {
                asks++;
                if (asks == 1)
                {
                    cache.Invalidate(); // the source took its answer back while this one was on its way
                    return ValueTask.FromResult("stale");
                }
                return ValueTask.FromResult("fresh");
            },
            (value, askedAt) => held.Keep(value, TimeSpan.FromSeconds(2), askedAt));

        Assert.True(answered);
        Assert.Equal("fresh", answer);
        Assert.Equal(2, asks);
        Assert.True(held.TryGet(_clock.GetTimestamp(), out var kept));
        Assert.Equal("fresh", kept);
    }

    [Fact]
    public async Task AnswersOvertakenEveryTime_FailClosed_AfterTheLastAttempt()
    {
        var cache = new LeaseHolderCache(_clock);
        var kept = 0;
        var asks = 0;
        var (answered, _) = await cache.AskAsync(
            () =>
            {
                asks++;
                cache.Invalidate();
                return ValueTask.FromResult("stale");
            },
            (_, _) => kept++);

        Assert.False(answered);
        Assert.Equal(LeaseHolderCache.MaxAttempts, asks);
        Assert.Equal(0, kept);
    }

    [Fact]
    public void AnInvalidation_DropsEveryHeldAnswer_AndMovesTheEpoch()
    {
        var cache = new LeaseHolderCache(_clock);
        var chain = cache.Hold<string>();
        var session = cache.Hold<int>();
        chain.Keep("usable", TimeSpan.FromSeconds(2), _clock.GetTimestamp());
        session.Keep(1, TimeSpan.FromSeconds(2), _clock.GetTimestamp());
        var epoch = cache.Epoch;

        cache.Invalidate();

        Assert.NotEqual(epoch, cache.Epoch);
        Assert.False(chain.TryGet(_clock.GetTimestamp(), out _));
        Assert.False(session.TryGet(_clock.GetTimestamp(), out _));
        Assert.Equal(TimeSpan.Zero, chain.Remaining());
    }

    [Fact]
    public void AZeroLease_HoldsNothing()
    {
        var held = new LeaseHolderCache(_clock).Hold<string>();
        held.Keep("usable", TimeSpan.Zero, _clock.GetTimestamp());
        Assert.False(held.TryGet(_clock.GetTimestamp(), out _));
    }
}
