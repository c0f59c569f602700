namespace GrantSilo.WebConsole;

/// <summary>The web console (<c>GrantSilo:Console</c>), served by the silo host under <c>/console</c>.</summary>
public sealed class ConsoleOptions
{
    /// <summary>The configuration section.</summary>
    public const string SectionName = "GrantSilo:Console";

    /// <summary>Where the console is served.</summary>
    public const string PathBase = "/console";

    /// <summary>On by default in the embedded profile with the HTTP API; off otherwise.</summary>
    public bool? Enabled { get; set; }

    /// <summary>How long a signed-in person may stay idle before signing in again (never longer than their token lives).</summary>
    public TimeSpan IdleTimeout { get; set; } = TimeSpan.FromMinutes(30);

    /// <summary>Sign-in through an OpenID Connect provider (authorization code flow with PKCE); off when <see cref="ConsoleOidcOptions.Authority"/> is empty.</summary>
    public ConsoleOidcOptions Oidc { get; set; } = new();
}

/// <summary>
/// The OpenID Connect provider people sign in at. The token the console calls GrantSilo with (the ID token, or the
/// access token when <see cref="UseAccessToken"/> is set) must be one a trusted issuer of <c>GrantSilo:Identity</c>
/// accepts: it is verified by the same authenticator as the HTTP API's bearer tokens before anyone is signed in.
/// </summary>
public sealed class ConsoleOidcOptions
{
    /// <summary>The provider's issuer URL (its discovery document is read from there).</summary>
    public string? Authority { get; set; }

    /// <summary>The console's client id at the provider.</summary>
    public string? ClientId { get; set; }

    /// <summary>The console's client secret, if the provider gave it one (a confidential client).</summary>
    public string? ClientSecret { get; set; }

    /// <summary>Scopes asked for besides <c>openid</c> and <c>profile</c>.</summary>
    public List<string> Scopes { get; set; } = [];

    /// <summary>Call GrantSilo with the access token instead of the ID token.</summary>
    public bool UseAccessToken { get; set; }

    /// <summary>Whether the provider's metadata must come over HTTPS (only a loopback test provider may turn this off).</summary>
    public bool RequireHttpsMetadata { get; set; } = true;

    internal bool IsConfigured => !string.IsNullOrWhiteSpace(Authority);
}
