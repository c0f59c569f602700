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

    /// <inheritdoc />
    public override string ToString() =>
        Permission is null ? $"{Code}: {Message}" : $"{Code}: {Message} (permission '{Permission}')";
}

/// <summary>Thrown by <see cref="GrantResult{T}.Value"/> when a result holds an error.</summary>
public sealed class GrantException : Exception
{
    /// <summary>Wraps a typed error.</summary>
    public GrantException(GrantError error) : base(error.ToString()) => Error = error;

    /// <summary>The typed error.</summary>
    public GrantError Error { get; }
}
