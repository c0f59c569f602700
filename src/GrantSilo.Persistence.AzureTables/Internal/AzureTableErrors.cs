using Azure;

namespace GrantSilo.Persistence.AzureTables.Internal;

/// <summary>Translates Azure SDK failures into <see cref="AzureTableStorageException"/>.</summary>
internal static class AzureTableErrors
{
    public static AzureTableErrorKind Classify(Exception exception) => exception switch
    {
        RequestFailedException { Status: 404 } => AzureTableErrorKind.NotFound,
        RequestFailedException { Status: 409 } => AzureTableErrorKind.Conflict,
        RequestFailedException { Status: 412 } => AzureTableErrorKind.PreconditionFailed,
        RequestFailedException { Status: 413 } => AzureTableErrorKind.EntityTooLarge,
        RequestFailedException { Status: 429 } => AzureTableErrorKind.Throttled,
        RequestFailedException { Status: 503 } rfe when ErrorCode(rfe) == "ServerBusy" => AzureTableErrorKind.Throttled,
        RequestFailedException { Status: 408 } => AzureTableErrorKind.Timeout,
        RequestFailedException { Status: 500 } => AzureTableErrorKind.ServerError,
        RequestFailedException { Status: 502 or 503 or 504 } => AzureTableErrorKind.Unavailable,
        RequestFailedException { Status: 0 } => AzureTableErrorKind.Unavailable,
        RequestFailedException { Status: >= 400 and < 500 } => AzureTableErrorKind.Rejected,
        RequestFailedException { Status: >= 500 } => AzureTableErrorKind.ServerError,
        TaskCanceledException or TimeoutException => AzureTableErrorKind.Timeout,
        HttpRequestException or IOException => AzureTableErrorKind.Unavailable,
        AggregateException { InnerException: { } inner } => Classify(inner),
        _ => AzureTableErrorKind.Unknown,
    };

    /// <summary>True for exceptions the provider translates; programming errors pass through untouched.</summary>
    public static bool IsStorageFailure(Exception exception) => exception is RequestFailedException or HttpRequestException
        or IOException or TimeoutException or (TaskCanceledException and not OperationCanceledException { CancellationToken.IsCancellationRequested: true })
        or AggregateException { InnerException: RequestFailedException or HttpRequestException or IOException };

    /// <summary>The Azure Storage error code, from the parsed reply or else from the <c>x-ms-error-code</c> header.</summary>
    public static string? ErrorCode(RequestFailedException exception)
    {
        if (!string.IsNullOrEmpty(exception.ErrorCode))
        {
            return exception.ErrorCode;
        }

        return exception.GetRawResponse() is { } response && response.Headers.TryGetValue("x-ms-error-code", out var code) ? code : null;
    }

    public static AzureTableStorageException Translate(Exception exception, string operation, string tableName, string what)
    {
        var kind = Classify(exception);
        var rfe = exception as RequestFailedException ?? (exception as AggregateException)?.InnerException as RequestFailedException;
        var status = rfe?.Status ?? 0;
        var code = rfe is null ? null : ErrorCode(rfe);
        var advice = kind switch
        {
            AzureTableErrorKind.Throttled => "The storage account is throttling requests; retry later or spread load across partitions.",
            AzureTableErrorKind.ServerError => "Azure Table Storage failed internally and the outcome could not be confirmed; retry the operation.",
            AzureTableErrorKind.Unavailable => "Azure Table Storage could not be reached; check the endpoint and network, then retry.",
            AzureTableErrorKind.Timeout => "The request timed out and its outcome could not be confirmed; retry the operation.",
            AzureTableErrorKind.NotFound => "The table or entity does not exist; check that the provider's table was created at start-up.",
            AzureTableErrorKind.Rejected => "The request was refused; check the credentials and that keys and values are valid for Azure Tables.",
            AzureTableErrorKind.EntityTooLarge => "The entity is larger than Azure Tables accepts.",
            _ => "See the inner exception.",
        };
        var statusText = status == 0 ? "no reply" : $"HTTP {status}{(code is null ? string.Empty : " " + code)}";
        return new AzureTableStorageException(
            kind,
            operation,
            tableName,
            status,
            code,
            $"{operation} on Azure table '{tableName}' failed for {what} ({kind}, {statusText}). {advice}",
            exception);
    }
}
