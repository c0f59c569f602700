using Microsoft.Extensions.Logging;

namespace GrantSilo.Http;

public sealed partial class HttpCaller
{
    // The route's pattern, never the request's path: a caller may have put a token in the path.
    [LoggerMessage(EventId = (int)LogEvents.Unauthenticated, Level = LogLevel.Warning, Message = "Refused {Method} {Route} from {Address}: unauthenticated caller ({Failure} {Detail}).")]
    private static partial void LogUnauthenticated(ILogger logger, string method, string route, string address, string failure, string detail);
}
