namespace GrantSilo.Http;

/// <summary>Event ids of the HTTP API's own log messages, in one place so they never collide.</summary>
internal enum LogEvents
{
    /// <summary>A request without a verified bearer token was refused (the door logs refusals of the grain calls).</summary>
    Unauthenticated = 4201,

    /// <summary>A caller without the operator role asked for the Orleans Dashboard.</summary>
    DashboardRefused = 4202,

    /// <summary>The key set could not be published (no key-encryption key, or a stored key that does not unwrap).</summary>
    KeysUnavailable = 4203,

    /// <summary>A credential token failed offline verification (its reason is logged, never the token).</summary>
    CredentialTokenRefused = 4204,

    /// <summary>A credential bound to a key came without a valid DPoP proof by that key.</summary>
    DpopProofRefused = 4205,

    /// <summary>A token exchange was refused.</summary>
    TokenExchangeRefused = 4206,
}
