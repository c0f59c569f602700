using System.Diagnostics.CodeAnalysis;

namespace GrantSilo;

/// <summary>
/// The outcome of an operation that can be refused for an expected reason: a value or a typed
/// <see cref="GrantError"/>. Refusals are values, not exceptions.
/// </summary>
[GenerateSerializer, Immutable, Alias("grantsilo.result`1")]
public sealed record GrantResult<T> : IGrantResult
{
    /// <summary>The value on success, default otherwise. Prefer <see cref="Value"/>.</summary>
    [Id(0)] public T? ValueOrDefault { get; init; }

    /// <summary>The error when the operation was refused; null on success.</summary>
    [Id(1)] public GrantError? Error { get; init; }

    /// <summary>True when the operation succeeded.</summary>
    [MemberNotNullWhen(false, nameof(Error))]
    public bool IsSuccess => Error is null;

    /// <summary>The value; throws <see cref="GrantException"/> when the operation was refused.</summary>
    public T Value => Error is null ? ValueOrDefault! : throw new GrantException(Error);

    /// <summary>A successful result.</summary>
    public static GrantResult<T> Ok(T value) => new() { ValueOrDefault = value };

    /// <summary>A refused result.</summary>
    public static GrantResult<T> Fail(GrantError error) => new() { Error = error };

    /// <summary>A refused result.</summary>
    public static GrantResult<T> Fail(GrantErrorCode code, string message, string? permission = null, string? target = null) =>
        new() { Error = new GrantError(code, message, permission, target) };

    /// <summary>Lifts an error into a result.</summary>
    public static implicit operator GrantResult<T>(GrantError error) => Fail(error);

    /// <summary>Lifts a value into a result.</summary>
    public static implicit operator GrantResult<T>(T value) => Ok(value);
}

/// <summary>Any <see cref="GrantResult{T}"/>, by its error alone (for code that handles answers of every type).</summary>
public interface IGrantResult
{
    /// <summary>The error when the operation was refused; null on success.</summary>
    GrantError? Error { get; }
}
