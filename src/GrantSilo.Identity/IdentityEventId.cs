namespace GrantSilo.Identity;

/// <summary>Event ids of GrantSilo.Identity's log messages.</summary>
internal enum IdentityEventId
{
    KeyIgnored = 7001,
    KeysLoaded = 7002,
    KeysRefreshFailed = 7003,
    KeysUnchanged = 7004,
    TokenRefused = 7010,
    CallerVerified = 7011,
    NameOutsideIssuerNames = 7012,
    DevelopmentIssuerActive = 7020,
}
