namespace GrantSilo.Identity;

public enum CallerKind { Agent, Person, Service }

public sealed record Caller
{
    public required string Issuer { get; init; }
    public required string Subject { get; init; }
    public required CallerKind Kind { get; init; }
    public required string Name { get; init; }
    public required IReadOnlySet<string> Roles { get; init; }
    public required DateTimeOffset ExpiresAt { get; init; }
    public override string ToString() => $"{Name} via {Issuer}";
}

public enum AuthenticationFailure { Missing, Malformed, BadSignature, UnknownKey, UntrustedIssuer, WrongAudience, Expired, NotYetValid, AlgorithmNotAllowed, WrongTrustDomain, NotAnAgentId, KeysUnavailable }

public sealed record AuthenticationResult
{
    public Caller? Caller { get; init; }
    public AuthenticationFailure? Failure { get; init; }
    public string? Detail { get; init; }
    public bool IsSuccess => Caller is not null;
}

public interface ICallerAuthenticator
{
    ValueTask<AuthenticationResult> AuthenticateAsync(string? token, CancellationToken cancellationToken = default);
}
