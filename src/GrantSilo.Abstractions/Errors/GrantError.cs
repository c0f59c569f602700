using System.Text.Json.Serialization;

namespace GrantSilo;

/// <summary>
/// A typed, explained failure: <see cref="Code"/> for programs, <see cref="Message"/> for people.
/// </summary>
[GenerateSerializer, Immutable, Alias("grantsilo.error")]
public sealed record GrantError
{
    /// <summary>Creates an error.</summary>
    public GrantError(GrantErrorCode code, string message, string? permission = null, string? target = null)
    {
        Code = code;
        Message = message;
        Permission = permission;
        Target = target;
    }

    /// <summary>What went wrong.</summary>
    [Id(0)] public GrantErrorCode Code { get; init; }

    /// <summary>A sentence a person can act on.</summary>
    [Id(1)] public string Message { get; init; }

    /// <summary>The offending permission or limit, in canonical text form, when a scope check failed.</summary>
    [Id(2)] public string? Permission { get; init; }

    /// <summary>The id of the object the error is about, when there is one.</summary>
    [Id(3)] public string? Target { get; init; }

    /// <summary>Where in submitted text the problem is (policy parse errors), when it has a place.</summary>
    [Id(4)] public TextPosition? Position { get; init; }

    /// <summary>A finer code from the component that found the problem (for policy text, the Cedar parse error code such as <c>UnexpectedToken</c>).</summary>
    [Id(5)] public string? DetailCode { get; init; }

    /// <summary>For <see cref="GrantErrorCode.RateLimited"/>, how long until the caller may call again.</summary>
    [Id(6)] public TimeSpan? RetryAfter { get; init; }

    /// <summary>
    /// The exception a client mapped to this error (for example the transport failure behind
    /// <see cref="GrantErrorCode.Unavailable"/>), kept for diagnostics on the side that caught it. It is
    /// never serialized (no <c>[Id]</c>, <c>[NonSerialized]</c>, ignored by JSON), so it never crosses the wire,
    /// and it is not part of <see cref="ToString"/> or <see cref="Message"/>.
    /// </summary>
    [JsonIgnore]
    [field: NonSerialized]
    public Exception? Exception { get; init; }

    /// <inheritdoc />
    public override string ToString() =>
        Permission is not null ? $"{Code}: {Message} (permission '{Permission}')"
        : Position is { } position ? $"{Code}: {Message} ({DetailCode} at {position})"
        : $"{Code}: {Message}";
}

/// <summary>A place in submitted text: 0-based character offset, 1-based line and column.</summary>
[GenerateSerializer, Immutable, Alias("grantsilo.text-position")]
public sealed record TextPosition([property: Id(0)] int Offset, [property: Id(1)] int Line, [property: Id(2)] int Column)
{
    /// <inheritdoc />
    public override string ToString() => $"line {Line}, column {Column}";
}

/// <summary>Thrown by <see cref="GrantResult{T}.Value"/> when a result holds an error.</summary>
public sealed class GrantException : Exception
{
    /// <summary>Wraps a typed error.</summary>
    public GrantException(GrantError error) : base(error.ToString()) => Error = error;

    /// <summary>The typed error.</summary>
    public GrantError Error { get; }

    /// <summary>For <see cref="GrantErrorCode.RateLimited"/>, how long until the caller may call again (<see cref="GrantError.RetryAfter"/>).</summary>
    public TimeSpan? RetryAfter => Error.RetryAfter;
}
