using System.Net;
using Orleans.Runtime;

namespace GrantSilo.Persistence.AzureTables;

/// <summary>What went wrong with an Azure Table Storage operation, in a form a program can switch on.</summary>
public enum AzureTableErrorKind
{
    /// <summary>The failure could not be classified.</summary>
    Unknown = 0,

    /// <summary>The entity or table was not found (HTTP 404).</summary>
    NotFound = 1,

    /// <summary>The entity already exists (HTTP 409).</summary>
    Conflict = 2,

    /// <summary>The entity changed since it was read: its ETag no longer matches (HTTP 412).</summary>
    PreconditionFailed = 3,

    /// <summary>The service throttled the request and the retries ran out (HTTP 429 or 503 "server busy").</summary>
    Throttled = 4,

    /// <summary>The service failed internally (HTTP 500); the write may or may not have been made and could not be confirmed.</summary>
    ServerError = 5,

    /// <summary>The service was unavailable (HTTP 502, 503, 504) or could not be reached.</summary>
    Unavailable = 6,

    /// <summary>The request timed out; its outcome could not be confirmed.</summary>
    Timeout = 7,

    /// <summary>The data is larger than one Azure Table entity can hold.</summary>
    EntityTooLarge = 8,

    /// <summary>The request was refused as malformed or unauthorized (other 4xx replies).</summary>
    Rejected = 9,
}

/// <summary>
/// A failure of Azure Table Storage, translated at the provider boundary so that Azure SDK exceptions never reach
/// grain code. <see cref="Kind"/> says what happened; <see cref="Operation"/> and <see cref="TableName"/> say where.
/// </summary>
[GenerateSerializer]
[Alias("grantsilo.azure-table-storage-exception")]
public class AzureTableStorageException : OrleansException
{
    /// <summary>Creates an exception with a message.</summary>
    public AzureTableStorageException()
    {
    }

    /// <summary>Creates an exception with a message.</summary>
    public AzureTableStorageException(string message)
        : base(message)
    {
    }

    /// <summary>Creates an exception with a message and the failure that caused it.</summary>
    public AzureTableStorageException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Creates an exception describing a failed storage operation.</summary>
    public AzureTableStorageException(
        AzureTableErrorKind kind,
        string operation,
        string tableName,
        int status,
        string? errorCode,
        string message,
        Exception? innerException)
        : base(message, innerException!)
    {
        Kind = kind;
        Operation = operation;
        TableName = tableName;
        Status = status;
        ErrorCode = errorCode;
    }

    /// <summary>Gets what kind of failure this is.</summary>
    [Id(0)]
    public AzureTableErrorKind Kind { get; private set; }

    /// <summary>Gets the provider operation that failed, for example <c>WriteState</c>.</summary>
    [Id(1)]
    public string Operation { get; private set; } = string.Empty;

    /// <summary>Gets the Azure table the operation addressed.</summary>
    [Id(2)]
    public string TableName { get; private set; } = string.Empty;

    /// <summary>Gets the HTTP status of the last reply, or 0 when there was no reply.</summary>
    [Id(3)]
    public int Status { get; private set; }

    /// <summary>Gets the Azure Storage error code of the last reply, when it had one.</summary>
    [Id(4)]
    public string? ErrorCode { get; private set; }

    /// <summary>Gets a value indicating whether trying the same operation again later may succeed.</summary>
    public bool IsTransient => Kind is AzureTableErrorKind.Throttled or AzureTableErrorKind.ServerError
        or AzureTableErrorKind.Unavailable or AzureTableErrorKind.Timeout;

    /// <summary>Gets the HTTP status as a <see cref="HttpStatusCode"/>.</summary>
    public HttpStatusCode HttpStatus => (HttpStatusCode)Status;
}

/// <summary>
/// Grain state that does not fit in one Azure Table entity (about 960 KiB of serialized data). Nothing was written.
/// </summary>
[GenerateSerializer]
[Alias("grantsilo.grain-state-too-large-exception")]
public sealed class GrainStateTooLargeException : AzureTableStorageException
{
    /// <summary>Creates an exception.</summary>
    public GrainStateTooLargeException()
    {
    }

    /// <summary>Creates an exception with a message.</summary>
    public GrainStateTooLargeException(string message)
        : base(message)
    {
    }

    /// <summary>Creates an exception with a message and the failure that caused it.</summary>
    public GrainStateTooLargeException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Creates an exception for state of <paramref name="size"/> bytes, over <paramref name="maxSize"/>.</summary>
    public GrainStateTooLargeException(string tableName, string stateName, GrainId grainId, int size, int maxSize)
        : base(
            AzureTableErrorKind.EntityTooLarge,
            "WriteState",
            tableName,
            0,
            "EntityTooLarge",
            $"The state '{stateName}' of grain {grainId} serializes to {size} bytes, more than the {maxSize} bytes one Azure Table entity can hold. Nothing was written: keep large data out of grain state (for example in a blob) or split it across grains.",
            null)
    {
        Size = size;
        MaxSize = maxSize;
    }

    /// <summary>Gets the serialized size of the state that was refused, in bytes.</summary>
    [Id(0)]
    public int Size { get; private set; }

    /// <summary>Gets the largest serialized state the provider accepts, in bytes.</summary>
    [Id(1)]
    public int MaxSize { get; private set; }
}
