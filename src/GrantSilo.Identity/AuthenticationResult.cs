namespace GrantSilo.Identity;

/// <summary>Why a bearer token was refused.</summary>
public enum AuthenticationFailure
{
    /// <summary>No token was given.</summary>
    Missing,

    /// <summary>The text is not a signed JWT, or a required claim is missing or of the wrong type.</summary>
    Malformed,

    /// <summary>The signature does not verify with the key the token names.</summary>
    BadSignature,

    /// <summary>The token names no key (<c>kid</c>), or a key its issuer does not publish (after a refresh).</summary>
    UnknownKey,

    /// <summary>The token's <c>iss</c> is not a configured issuer.</summary>
    UntrustedIssuer,

    /// <summary>The token's <c>aud</c> does not name GrantSilo's audience.</summary>
    WrongAudience,

    /// <summary>The token's <c>exp</c> has passed (beyond the clock skew).</summary>
    Expired,

    /// <summary>The token's <c>nbf</c> is in the future (beyond the clock skew).</summary>
    NotYetValid,

    /// <summary>The token's <c>alg</c> is not an allowed asymmetric algorithm for its issuer or key.</summary>
    AlgorithmNotAllowed,

    /// <summary>A SPIFFE issuer vouched for an ID outside its trust domain.</summary>
    WrongTrustDomain,

    /// <summary>A SPIFFE issuer's token has a <c>sub</c> that is not a SPIFFE workload ID.</summary>
    NotAnAgentId,

    /// <summary>The issuer's key set could not be loaded yet (fail closed).</summary>
    KeysUnavailable,

    /// <summary>
    /// An OIDC issuer vouched for a caller name outside the names it is authoritative for
    /// (<see cref="TrustedIssuerOptions.Names"/>): a name another issuer may own.
    /// </summary>
    NameOutsideIssuerNames,
}

/// <summary>The outcome of <see cref="ICallerAuthenticator.AuthenticateAsync(string?, CancellationToken)"/>: a caller or a failure.</summary>
public sealed record AuthenticationResult
{
    /// <summary>The verified caller, when <see cref="IsSuccess"/>.</summary>
    public Caller? Caller { get; init; }

    /// <summary>Why the token was refused, when not <see cref="IsSuccess"/>.</summary>
    public AuthenticationFailure? Failure { get; init; }

    /// <summary>Text safe to return or log; it never contains the token.</summary>
    public string? Detail { get; init; }

    /// <summary>True when <see cref="Caller"/> is set.</summary>
    public bool IsSuccess => Caller is not null;

    /// <summary>A successful result.</summary>
    public static AuthenticationResult Success(Caller caller) => new() { Caller = caller };

    /// <summary>A refusal.</summary>
    public static AuthenticationResult Fail(AuthenticationFailure failure, string detail) => new() { Failure = failure, Detail = detail };

    /// <inheritdoc />
    public override string ToString() => IsSuccess ? $"Authenticated {Caller}" : $"Refused {Failure}: {Detail}";
}

/// <summary>Verifies callers' bearer tokens.</summary>
public interface ICallerAuthenticator
{
    /// <summary>
    /// Verifies <paramref name="token"/> (a compact JWT, without any "Bearer " prefix) and says who the
    /// caller is, or why it was refused. Never throws for a bad token.
    /// </summary>
    ValueTask<AuthenticationResult> AuthenticateAsync(string? token, CancellationToken cancellationToken = default);

    /// <summary>
    /// Verifies a token given as its UTF-8 bytes, as calls carry it: a verified caller is found by the bytes' hash
    /// without decoding them.
    /// </summary>
    ValueTask<AuthenticationResult> AuthenticateAsync(ReadOnlyMemory<byte> utf8Token, CancellationToken cancellationToken = default) =>
        AuthenticateAsync(utf8Token.IsEmpty ? null : System.Text.Encoding.UTF8.GetString(utf8Token.Span), cancellationToken);

    /// <summary>
    /// The caller a token verified here before, found by the SHA-256 of the token's UTF-8 bytes (which only a holder
    /// of the token can compute), while that verification still holds; false otherwise (the token must be sent).
    /// </summary>
    bool TryGetVerified(ReadOnlySpan<byte> tokenSha256, out Caller? caller)
    {
        caller = null;
        return false;
    }
}
