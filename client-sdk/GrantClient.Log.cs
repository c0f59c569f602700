using Microsoft.Extensions.Logging;

namespace GrantSilo.Client;

public sealed partial class GrantClient
{
    // Only the operation's name and the exception: never an argument, since a token can be passed
    // where an id or a text is expected.
    [LoggerMessage(EventId = (int)LogEvents.CallFailed, Level = LogLevel.Warning, Message = "GrantSilo call {Operation} failed and was answered Unavailable")]
    private static partial void LogCallFailed(ILogger logger, string operation, Exception exception);

    [LoggerMessage(EventId = (int)LogEvents.AuthorizeFailed, Level = LogLevel.Warning, Message = "GrantSilo call {Operation} failed and was answered with a deny (failing closed)")]
    private static partial void LogAuthorizeFailed(ILogger logger, string operation, Exception exception);

    // The exception's type only: a token source's message could quote what it read.
    [LoggerMessage(EventId = (int)LogEvents.CallerTokenFailed, Level = LogLevel.Warning, Message = "The caller token source failed ({ExceptionType}); the call goes without a token and is refused as unauthenticated")]
    private static partial void LogCallerTokenFailed(ILogger logger, string exceptionType);
}
