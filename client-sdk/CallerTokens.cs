namespace GrantSilo.Client;

/// <summary>
/// Where a <see cref="GrantClient"/> gets the token that proves who is calling: a JWT-SVID for an agent,
/// an OIDC token for a person or a service. The client attaches it to every call; GrantSilo verifies it
/// before anything runs. Register one in DI for the client's own identity, or pass one to
/// <see cref="GrantClient.As(ICallerTokenSource)"/> to call as someone else.
/// </summary>
public interface ICallerTokenSource
{
    /// <summary>A token valid now. Called before every call, so it should answer from a cache.</summary>
    ValueTask<string> GetTokenAsync(CancellationToken cancellationToken = default);
}

/// <summary>A fixed token, for a caller whose token is managed elsewhere (and for tests).</summary>
public sealed class StaticCallerToken(string token) : ICallerTokenSource
{
    private readonly string _token = string.IsNullOrWhiteSpace(token) ? throw new ArgumentException("A caller token is required.", nameof(token)) : token;

    /// <inheritdoc />
    public ValueTask<string> GetTokenAsync(CancellationToken cancellationToken = default) => ValueTask.FromResult(_token);

    /// <inheritdoc />
    public override string ToString() => "StaticCallerToken(****)";
}

/// <summary>
/// A token fetched (or minted) by a delegate and kept until shortly before it expires, then fetched again:
/// one fetch at a time, callers in between get the held token.
/// </summary>
public sealed class RefreshingCallerToken : ICallerTokenSource, IDisposable
{
    private readonly Func<CancellationToken, ValueTask<(string Token, DateTimeOffset ExpiresAt)>> _fetch;
    private readonly TimeProvider _time;
    private readonly TimeSpan _refreshBefore;
    private readonly SemaphoreSlim _fetching = new(1, 1);
    private volatile Held? _held;

    /// <param name="fetch">Gets a new token and when it expires.</param>
    /// <param name="refreshBefore">How long before expiry a new token is fetched (default 60 s, or a fifth of the token's life if shorter).</param>
    /// <param name="time">The clock; the system clock by default.</param>
    public RefreshingCallerToken(Func<CancellationToken, ValueTask<(string Token, DateTimeOffset ExpiresAt)>> fetch, TimeSpan? refreshBefore = null, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(fetch);
        _fetch = fetch;
        _time = time ?? TimeProvider.System;
        _refreshBefore = refreshBefore ?? TimeSpan.FromSeconds(60);
    }

    /// <inheritdoc />
    public ValueTask<string> GetTokenAsync(CancellationToken cancellationToken = default)
    {
        var held = _held;
        return held is not null && _time.GetUtcNow() < held.RefreshAt ? ValueTask.FromResult(held.Token) : RefreshAsync(cancellationToken);
    }

    private async ValueTask<string> RefreshAsync(CancellationToken cancellationToken)
    {
        await _fetching.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var now = _time.GetUtcNow();
            if (_held is { } held && now < held.RefreshAt)
            {
                return held.Token;
            }
            var (token, expiresAt) = await _fetch(cancellationToken).ConfigureAwait(false);
            var life = expiresAt - now;
            var margin = life / 5 < _refreshBefore ? life / 5 : _refreshBefore;
            _held = new Held(token, expiresAt - margin);
            return token;
        }
        finally
        {
            _fetching.Release();
        }
    }

    /// <inheritdoc />
    public override string ToString() => "RefreshingCallerToken(****)";

    /// <inheritdoc />
    public void Dispose() => _fetching.Dispose();

    private sealed record Held(string Token, DateTimeOffset RefreshAt)
    {
        public override string ToString() => "Held(****)";
    }
}
