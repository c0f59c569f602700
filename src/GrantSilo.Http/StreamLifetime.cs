namespace GrantSilo.Http;

/// <summary>When a live stream ends by itself: when its caller's token expires.</summary>
internal static class StreamLifetime
{
    /// <summary>
    /// The longest delay <see cref="CancellationTokenSource.CancelAfter(TimeSpan)"/> accepts (<see cref="uint.MaxValue"/>
    /// - 1 ms, about 49.7 days); a longer one throws.
    /// </summary>
    public static readonly TimeSpan Longest = TimeSpan.FromMilliseconds(uint.MaxValue - 1);

    /// <summary>
    /// A source cancelled when <paramref name="cancellationToken"/> is, or when <paramref name="until"/> passes. A token
    /// that lives longer than <see cref="Longest"/> has its stream end then instead: the watcher reconnects, as it does
    /// after any end. Never throws for a long lifetime.
    /// </summary>
    public static CancellationTokenSource Until(DateTimeOffset until, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var source = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var left = until - now;
        source.CancelAfter(left <= TimeSpan.Zero ? TimeSpan.Zero : left < Longest ? left : Longest);
        return source;
    }
}
