using Microsoft.Extensions.Logging;

namespace GrantSilo.Identity;

public sealed partial class CallerAuthenticator
{
    [LoggerMessage(EventId = (int)IdentityEventId.TokenRefused, Level = LogLevel.Debug, Message = "Token {TokenTag} refused: {Failure} ({Detail})")]
    private static partial void LogTokenRefused(ILogger logger, TokenHash tokenTag, AuthenticationFailure failure, string? detail);

    [LoggerMessage(EventId = (int)IdentityEventId.NameOutsideIssuerNames, Level = LogLevel.Warning, Message = "Token {TokenTag} refused: its issuer named a caller outside the names it is authoritative for ({Detail}; the issuer's names are its GrantSilo:Identity:Issuers:N:Names)")]
    private static partial void LogNameOutsideIssuerNames(ILogger logger, TokenHash tokenTag, string? detail);

    [LoggerMessage(EventId = (int)IdentityEventId.CallerVerified, Level = LogLevel.Debug, Message = "Token {TokenTag} verified: {Caller}")]
    private static partial void LogCallerVerified(ILogger logger, Caller caller, TokenHash tokenTag);
}
