using System.Collections.Frozen;
using System.Text.Json;
using GrantSilo.Identity.Keys;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace GrantSilo.Identity;

/// <summary>
/// Verifies bearer tokens (JWTs) against the configured issuers: an asymmetric signature by the key the
/// token names (<c>kid</c>) from its issuer's JWKS, with an allowed algorithm; the exact <c>iss</c>; GrantSilo's
/// <c>aud</c>; <c>exp</c> and <c>nbf</c> with <see cref="IdentityOptions.ClockSkew"/> on the injected clock; and
/// for SPIFFE issuers a <c>sub</c> that is a SPIFFE ID in the issuer's trust domain. Verified callers are
/// cached by SHA-256 of the token until it expires or its issuer's keys change.
/// </summary>
public sealed partial class CallerAuthenticator : ICallerAuthenticator, IDisposable
{
    /// <summary>Longer tokens are refused unread.</summary>
    public const int MaxTokenLength = 16 * 1024;

    internal const string KindClaim = "grantsilo_kind";

    private static readonly AuthenticationResult MissingResult = AuthenticationResult.Fail(AuthenticationFailure.Missing, "no bearer token was given");
    private static readonly AuthenticationResult TooLongResult = AuthenticationResult.Fail(AuthenticationFailure.Malformed, $"the token is longer than {MaxTokenLength} characters");

    private readonly JsonWebTokenHandler _handler = new() { MapInboundClaims = false };
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly string _audience;
    private readonly TimeSpan _skew;
    private readonly LifetimeValidator _lifetimeValidator;
    private readonly List<IssuerRuntime> _issuers = [];
    private readonly FrozenDictionary<string, IssuerRuntime> _byIssuer;
    private readonly IssuerRuntime[] _spiffeWithoutIssuer;
    private readonly FrozenSet<string> _anyAlgorithm;
    private readonly FrozenDictionary<string, FrozenSet<string>> _workloadRoles;
    private readonly FrozenDictionary<(string Issuer, string Name), FrozenSet<string>> _serviceRoles;
    private readonly VerifiedCallerCache _cache;
    private readonly HttpClient? _ownedHttpClient;
    private long _verifications;

    /// <summary>Builds the authenticator and loads every issuer's keys (JWKS URLs are fetched in the background).</summary>
    /// <param name="options">Validated options (invalid ones throw <see cref="OptionsValidationException"/>).</param>
    /// <param name="timeProvider">The clock for <c>exp</c>/<c>nbf</c>, the cache and refresh timers.</param>
    /// <param name="loggerFactory">Logging; tokens are never logged, only the first 8 hex digits of their SHA-256.</param>
    /// <param name="developmentIssuer">The development issuer, required when <see cref="DevelopmentIssuerOptions.Enabled"/>.</param>
    /// <param name="jwksHttpClient">The HTTP client for JWKS URLs; GrantSilo makes one if null.</param>
    public CallerAuthenticator(
        IOptions<IdentityOptions> options,
        TimeProvider timeProvider,
        ILoggerFactory loggerFactory,
        DevelopmentIssuer? developmentIssuer = null,
        JwksHttpClient? jwksHttpClient = null)
    {
        var o = options.Value;
        var errors = IdentityOptionsValidator.Check(o);
        if (errors.Count > 0)
        {
            throw new OptionsValidationException(IdentityOptions.SectionName, typeof(IdentityOptions), errors);
        }

        if (o.Development.Enabled && developmentIssuer is null)
        {
            throw new InvalidOperationException($"{IdentityOptions.SectionName}:Development:Enabled is true but no DevelopmentIssuer was given: register GrantSilo identity with AddGrantSiloIdentity, which creates it.");
        }

        _time = timeProvider;
        _logger = loggerFactory.CreateLogger<CallerAuthenticator>();
        _audience = o.Audience;
        _skew = o.ClockSkew;
        _lifetimeValidator = ValidateLifetime;
        _cache = new VerifiedCallerCache(o.CacheSize);

        var keyLogger = loggerFactory.CreateLogger<JwksSource>();
        foreach (var issuer in o.Issuers)
        {
            var algorithms = (issuer.Algorithms.Count == 0 ? TrustedIssuerOptions.DefaultAlgorithms : issuer.Algorithms).ToFrozenSet(StringComparer.Ordinal);
            JwksSource source;
            if (issuer.JwksUri is { } uri)
            {
                var client = jwksHttpClient?.Client ?? (_ownedHttpClient ??= JwksHttpClient.CreateDefault());
                source = new JwksHttpSource(issuer.Name, uri, client, algorithms, issuer.RefreshInterval, issuer.UnknownKidRefreshMinInterval, timeProvider, keyLogger);
            }
            else
            {
                source = new JwksFileSource(issuer.Name, issuer.JwksFile!, algorithms, issuer.RefreshInterval, issuer.UnknownKidRefreshMinInterval, timeProvider, keyLogger);
            }

            var type = issuer.Kind == IssuerKind.Spiffe ? IssuerType.Spiffe : IssuerType.Oidc;
            _issuers.Add(new IssuerRuntime(
                issuer.Name, type, string.IsNullOrEmpty(issuer.Issuer) ? null : issuer.Issuer, issuer.TrustDomain, source, algorithms,
                issuer.CallerKind, issuer.NameClaim, issuer.RolesClaim, IssuerNamespace.Of(issuer)));
        }

        if (developmentIssuer is not null && o.Development.Enabled)
        {
            var algorithms = new[] { DevelopmentIssuer.Algorithm }.ToFrozenSet(StringComparer.Ordinal);
            var source = new StaticKeySource(DevelopmentIssuer.IssuerName, developmentIssuer.PublicJwks(), algorithms, timeProvider, keyLogger);
            _issuers.Add(new IssuerRuntime(DevelopmentIssuer.IssuerName, IssuerType.Development, developmentIssuer.Issuer, null, source, algorithms, CallerKind.Person, "name", "roles", names: null));
        }

        _byIssuer = _issuers.Where(i => i.RequiredIssuer is not null).ToFrozenDictionary(i => i.RequiredIssuer!, StringComparer.Ordinal);
        _spiffeWithoutIssuer = [.. _issuers.Where(i => i.RequiredIssuer is null)];
        _anyAlgorithm = _issuers.SelectMany(i => i.Algorithms).ToFrozenSet(StringComparer.Ordinal);
        _workloadRoles = o.Workloads
            .GroupBy(w => w.SpiffeId, StringComparer.Ordinal)
            .ToFrozenDictionary(g => g.Key, g => g.SelectMany(w => w.Roles).ToFrozenSet(StringComparer.Ordinal), StringComparer.Ordinal);
        _serviceRoles = o.Services
            .GroupBy(s => (s.Issuer, s.Name))
            .ToFrozenDictionary(g => g.Key, g => g.SelectMany(s => s.Roles).ToFrozenSet(StringComparer.Ordinal));

        foreach (var issuer in _issuers)
        {
            var runtime = issuer;
            issuer.Keys.Changed += _ => _cache.RemoveIssuer(runtime);
            issuer.Keys.Start();
        }
    }

    /// <summary>How many tokens were verified cryptographically (cache misses that reached the signature check).</summary>
    internal long VerificationCount => Interlocked.Read(ref _verifications);

    /// <summary>When false, every call verifies (the benchmark's uncached path).</summary>
    internal bool CacheEnabled { get; set; } = true;

    internal int CachedCount => _cache.Count;

    internal IReadOnlyList<IssuerRuntime> Issuers => _issuers;

    /// <inheritdoc />
    public ValueTask<AuthenticationResult> AuthenticateAsync(string? token, CancellationToken cancellationToken = default)
    {
        if (string.IsNullOrEmpty(token))
        {
            return new(MissingResult);
        }

        if (token.Length > MaxTokenLength)
        {
            return new(TooLongResult);
        }

        var hash = TokenHash.Compute(token);
        if (CacheEnabled && _cache.TryGet(hash, _time.GetUtcNow(), out var cached))
        {
            return new(cached);
        }

        return new(VerifyAsync(token, hash, cancellationToken));
    }

    /// <inheritdoc />
    public ValueTask<AuthenticationResult> AuthenticateAsync(ReadOnlyMemory<byte> utf8Token, CancellationToken cancellationToken = default)
    {
        if (utf8Token.IsEmpty)
        {
            return new(MissingResult);
        }

        if (utf8Token.Length > MaxTokenLength)
        {
            return new(TooLongResult);
        }

        var hash = TokenHash.Compute(utf8Token.Span);
        if (CacheEnabled && _cache.TryGet(hash, _time.GetUtcNow(), out var cached))
        {
            return new(cached);
        }

        var token = System.Text.Encoding.UTF8.GetString(utf8Token.Span);
        return token.Length > MaxTokenLength ? new(TooLongResult) : new(VerifyAsync(token, hash, cancellationToken));
    }

    /// <inheritdoc />
    public bool TryGetVerified(ReadOnlySpan<byte> tokenSha256, out Caller? caller)
    {
        if (CacheEnabled && TokenHash.TryFrom(tokenSha256, out var hash) && _cache.TryGet(hash, _time.GetUtcNow(), out var cached) && cached.Caller is { } known)
        {
            caller = known;
            return true;
        }
        caller = null;
        return false;
    }

    private async Task<AuthenticationResult> VerifyAsync(string token, TokenHash hash, CancellationToken cancellationToken)
    {
        var result = await VerifyCoreAsync(token, hash, cancellationToken).ConfigureAwait(false);
        var debug = _logger.IsEnabled(LogLevel.Debug);
        if (result.Result.IsSuccess)
        {
            if (debug)
            {
                LogCallerVerified(_logger, result.Result.Caller!, hash);
            }

            if (CacheEnabled)
            {
                _cache.Add(hash, result.Result, result.Issuer!, result.Generation, result.Result.Caller!.ExpiresAt + _skew, _time.GetUtcNow());
            }
        }
        else if (result.Result.Failure == AuthenticationFailure.NameOutsideIssuerNames)
        {
            // A token its issuer signed, naming a caller the issuer may not name: a misconfigured or hostile issuer.
            LogNameOutsideIssuerNames(_logger, hash, result.Result.Detail);
        }
        else if (debug)
        {
            LogTokenRefused(_logger, hash, result.Result.Failure!.Value, result.Result.Detail);
        }

        return result.Result;
    }

    private async Task<(AuthenticationResult Result, IssuerRuntime? Issuer, long Generation)> VerifyCoreAsync(string token, TokenHash hash, CancellationToken cancellationToken)
    {
        JsonWebToken jwt;
        try
        {
            jwt = new JsonWebToken(token);
        }
        catch (Exception e) when (e is ArgumentException or SecurityTokenException or JsonException or FormatException)
        {
            return Fail(AuthenticationFailure.Malformed, "the token is not a compact JWT");
        }

        if (jwt.IsEncrypted)
        {
            return Fail(AuthenticationFailure.Malformed, "encrypted tokens (JWE) are not accepted");
        }

        var alg = jwt.Alg;
        if (string.IsNullOrEmpty(alg) || !_anyAlgorithm.Contains(alg))
        {
            return Fail(AuthenticationFailure.AlgorithmNotAllowed, $"algorithm '{Safe.Text(alg ?? "")}' is not allowed (asymmetric algorithms only)");
        }

        var kid = jwt.TryGetHeaderValue<string>(JwtHeaderParameterNames.Kid, out var k) ? k : null;
        var iss = jwt.TryGetPayloadValue<string>(JwtRegisteredClaimNames.Iss, out var i) ? i : null;

        IssuerRuntime? issuer = null;
        if (!string.IsNullOrEmpty(iss) && _byIssuer.TryGetValue(iss, out var byIss))
        {
            issuer = byIss;
        }
        else if (_spiffeWithoutIssuer.Length > 0 && !string.IsNullOrEmpty(kid))
        {
            issuer = await FindSpiffeIssuerByKidAsync(kid, cancellationToken).ConfigureAwait(false);
            if (issuer is null)
            {
                return string.IsNullOrEmpty(iss)
                    ? Fail(AuthenticationFailure.UnknownKey, $"no trusted SPIFFE issuer publishes key '{Safe.Text(kid)}'")
                    : Fail(AuthenticationFailure.UntrustedIssuer, $"issuer '{Safe.Text(iss)}' is not trusted");
            }
        }

        if (issuer is null)
        {
            return string.IsNullOrEmpty(iss)
                ? Fail(AuthenticationFailure.UntrustedIssuer, "the token names no issuer ('iss')")
                : Fail(AuthenticationFailure.UntrustedIssuer, $"issuer '{Safe.Text(iss)}' is not trusted");
        }

        if (!issuer.Algorithms.Contains(alg))
        {
            return Fail(AuthenticationFailure.AlgorithmNotAllowed, $"algorithm '{Safe.Text(alg)}' is not allowed for issuer {issuer.Name}");
        }

        if (string.IsNullOrEmpty(kid))
        {
            // A key is never tried blindly: a token must say which key signed it.
            return Fail(AuthenticationFailure.UnknownKey, "the token header names no key ('kid')");
        }

        var keys = issuer.Keys.Current;
        var key = keys?.Find(kid);
        if (key is null)
        {
            await issuer.Keys.TryRefreshForUnknownKidAsync(cancellationToken).ConfigureAwait(false);
            keys = issuer.Keys.Current;
            if (keys is null)
            {
                return Fail(AuthenticationFailure.KeysUnavailable, $"the keys of issuer {issuer.Name} could not be loaded yet");
            }

            key = keys.Find(kid);
            if (key is null)
            {
                return Fail(AuthenticationFailure.UnknownKey, $"issuer {issuer.Name} publishes no key '{Safe.Text(kid)}'");
            }
        }

        if (!key.Accepts(alg))
        {
            return Fail(AuthenticationFailure.AlgorithmNotAllowed, $"algorithm '{Safe.Text(alg)}' does not fit key '{Safe.Text(kid)}'");
        }

        var parameters = new TokenValidationParameters
        {
            ValidateIssuer = issuer.RequiredIssuer is not null,
            ValidIssuer = issuer.RequiredIssuer,
            ValidateAudience = true,
            ValidAudience = _audience,
            ValidateLifetime = true,
            RequireExpirationTime = true,
            LifetimeValidator = _lifetimeValidator,
            ClockSkew = _skew,
            RequireSignedTokens = true,
            ValidAlgorithms = issuer.AlgorithmList,
            IssuerSigningKey = key.Key,
            TryAllIssuerSigningKeys = false,
            ValidateIssuerSigningKey = false,
            SaveSigninToken = false,
        };

        TokenValidationResult validation;
        try
        {
            validation = await _handler.ValidateTokenAsync(jwt, parameters).ConfigureAwait(false);
        }
        catch (Exception e) when (e is SecurityTokenException or ArgumentException)
        {
            return Fail(Map(e));
        }

        if (!validation.IsValid)
        {
            return Fail(Map(validation.Exception));
        }

        Interlocked.Increment(ref _verifications);
        var caller = ToCaller(jwt, issuer, out var refusal);
        return caller is null ? Fail(refusal!) : (AuthenticationResult.Success(caller), issuer, keys!.Generation);
    }

    private async ValueTask<IssuerRuntime?> FindSpiffeIssuerByKidAsync(string kid, CancellationToken cancellationToken)
    {
        foreach (var candidate in _spiffeWithoutIssuer)
        {
            if (candidate.Keys.Current?.Find(kid) is not null)
            {
                return candidate;
            }
        }

        foreach (var candidate in _spiffeWithoutIssuer)
        {
            await candidate.Keys.TryRefreshForUnknownKidAsync(cancellationToken).ConfigureAwait(false);
            if (candidate.Keys.Current?.Find(kid) is not null)
            {
                return candidate;
            }
        }

        return null;
    }

    private Caller? ToCaller(JsonWebToken jwt, IssuerRuntime issuer, out AuthenticationResult? refusal)
    {
        refusal = null;
        var subject = jwt.TryGetPayloadValue<string>(JwtRegisteredClaimNames.Sub, out var s) ? s : null;
        if (string.IsNullOrEmpty(subject))
        {
            refusal = AuthenticationResult.Fail(AuthenticationFailure.Malformed, "the token has no subject ('sub')");
            return null;
        }

        var expiresAt = new DateTimeOffset(DateTime.SpecifyKind(jwt.ValidTo, DateTimeKind.Utc));
        string? kindClaim = issuer.Type == IssuerType.Development && jwt.TryGetPayloadValue<string>(KindClaim, out var kc) ? kc : null;
        if (issuer.Type == IssuerType.Spiffe || (issuer.Type == IssuerType.Development && kindClaim is null))
        {
            if (!SpiffeId.TryParseWorkloadId(subject, out var trustDomain))
            {
                refusal = AuthenticationResult.Fail(AuthenticationFailure.NotAnAgentId, $"the subject '{Safe.Text(subject)}' is not a SPIFFE workload ID");
                return null;
            }

            // The development issuer vouches for every trust domain (it is for development only).
            if (issuer.Type == IssuerType.Spiffe && !string.Equals(trustDomain, issuer.TrustDomain, StringComparison.Ordinal))
            {
                refusal = AuthenticationResult.Fail(AuthenticationFailure.WrongTrustDomain, $"issuer {issuer.Name} vouches for trust domain '{issuer.TrustDomain}', not '{Safe.Text(trustDomain)}'");
                return null;
            }

            return new Caller
            {
                Issuer = issuer.Name,
                Subject = subject,
                Kind = CallerKind.Agent,
                Name = subject,
                Roles = _workloadRoles.GetValueOrDefault(subject) ?? FrozenSet<string>.Empty,
                ExpiresAt = expiresAt,
            };
        }

        CallerKind kind;
        if (issuer.Type == IssuerType.Development)
        {
            if (kindClaim is not ("person" or "service"))
            {
                refusal = AuthenticationResult.Fail(AuthenticationFailure.Malformed, $"claim '{KindClaim}' must be 'person' or 'service'");
                return null;
            }

            kind = kindClaim == "person" ? CallerKind.Person : CallerKind.Service;
        }
        else
        {
            kind = issuer.OidcCallerKind;
        }

        var name = jwt.TryGetPayloadValue<string>(issuer.NameClaim, out var n) ? n : null;
        if (string.IsNullOrWhiteSpace(name))
        {
            refusal = AuthenticationResult.Fail(AuthenticationFailure.Malformed, $"the token has no '{issuer.NameClaim}' claim naming the caller");
            return null;
        }

        // The name in Unicode NFC, the form GrantSilo stores names in (a task's person and orchestrator, an approver): it is
        // checked below in the form the caller will be known by, so an issuer cannot name, in a decomposed form its own
        // names allow, a caller whose stored name another issuer vouches for.
        try
        {
            name = name.Normalize(System.Text.NormalizationForm.FormC);
        }
        catch (ArgumentException)
        {
            refusal = AuthenticationResult.Fail(AuthenticationFailure.Malformed, $"the '{issuer.NameClaim}' claim is not well-formed Unicode");
            return null;
        }

        // A name is the caller everywhere (access rules, a task's person and orchestrator, approvers), whichever issuer
        // vouched for it: an issuer is believed only for the names it is authoritative for, which no other issuer shares
        // (the options validator refuses overlapping issuers), so no issuer's caller can take another issuer's name.
        var named = Named(IssuerNamespace.PrefixOf(kind), name);
        if (issuer.Names is { } names && !Within(names, named))
        {
            refusal = AuthenticationResult.Fail(AuthenticationFailure.NameOutsideIssuerNames,
                $"issuer {issuer.Name} is not authoritative for the name '{Safe.Text(named)}'");
            return null;
        }

        var roles = ReadRoles(jwt, issuer.RolesClaim);
        if (kind == CallerKind.Service && _serviceRoles.TryGetValue((issuer.Name, name), out var configured))
        {
            roles.UnionWith(configured);
        }

        return new Caller
        {
            Issuer = issuer.Name,
            Subject = subject,
            Kind = kind,
            Name = named,
            Roles = roles.ToFrozenSet(StringComparer.Ordinal),
            ExpiresAt = expiresAt,
        };
    }

    private static bool Within(IReadOnlyList<NamePattern> names, string name)
    {
        foreach (var pattern in names)
        {
            if (pattern.Matches(name))
            {
                return true;
            }
        }

        return false;
    }

    private static HashSet<string> ReadRoles(JsonWebToken jwt, string claim)
    {
        var roles = new HashSet<string>(StringComparer.Ordinal);
        foreach (var c in jwt.Claims)
        {
            if (c.Type != claim)
            {
                continue;
            }

            foreach (var part in c.Value.Split([' ', ','], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                var role = part.ToLowerInvariant();
                if (RoleNames.IsValid(role))
                {
                    roles.Add(role);
                }
            }
        }

        return roles;
    }

    private bool ValidateLifetime(DateTime? notBefore, DateTime? expires, SecurityToken token, TokenValidationParameters parameters)
    {
        var now = _time.GetUtcNow().UtcDateTime;
        if (expires is null)
        {
            throw new SecurityTokenNoExpirationException("the token has no expiry ('exp')");
        }

        if (notBefore is { } nbf && now + _skew < nbf)
        {
            throw new SecurityTokenNotYetValidException("not yet valid") { NotBefore = nbf };
        }

        if (now - _skew >= expires.Value)
        {
            throw new SecurityTokenExpiredException("expired") { Expires = expires.Value };
        }

        return true;
    }

    // Most derived first: a missing key is a kind of invalid signature.
    private static AuthenticationResult Map(Exception? e) => e switch
    {
        SecurityTokenExpiredException => AuthenticationResult.Fail(AuthenticationFailure.Expired, "the token has expired"),
        SecurityTokenNotYetValidException => AuthenticationResult.Fail(AuthenticationFailure.NotYetValid, "the token is not valid yet ('nbf')"),
        SecurityTokenNoExpirationException => AuthenticationResult.Fail(AuthenticationFailure.Malformed, "the token has no expiry ('exp')"),
        SecurityTokenInvalidLifetimeException => AuthenticationResult.Fail(AuthenticationFailure.Expired, "the token's lifetime is not valid"),
        SecurityTokenInvalidAudienceException => AuthenticationResult.Fail(AuthenticationFailure.WrongAudience, "the token is not for this audience ('aud')"),
        SecurityTokenInvalidIssuerException => AuthenticationResult.Fail(AuthenticationFailure.UntrustedIssuer, "the token's issuer is not trusted"),
        SecurityTokenInvalidAlgorithmException => AuthenticationResult.Fail(AuthenticationFailure.AlgorithmNotAllowed, "the token's algorithm is not allowed"),
        SecurityTokenSignatureKeyNotFoundException => AuthenticationResult.Fail(AuthenticationFailure.UnknownKey, "the key the token names was not found"),
        SecurityTokenInvalidSignatureException => AuthenticationResult.Fail(AuthenticationFailure.BadSignature, "the signature does not verify"),
        _ => AuthenticationResult.Fail(AuthenticationFailure.Malformed, "the token could not be validated"),
    };

    private static (AuthenticationResult, IssuerRuntime?, long) Fail(AuthenticationFailure failure, string detail) => (AuthenticationResult.Fail(failure, detail), null, 0);

    private static (AuthenticationResult, IssuerRuntime?, long) Fail(AuthenticationResult result) => (result, null, 0);

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var issuer in _issuers)
        {
            issuer.Keys.Dispose();
        }

        _ownedHttpClient?.Dispose();
    }

    // A name claim that already carries its prefix ("person:alice@acme.dev") is not prefixed twice.
    internal static string Named(string prefix, string name) => name.StartsWith(prefix, StringComparison.Ordinal) ? name : prefix + name;
}
