using System.Security.Claims;
using GrantSilo.Client;
using GrantSilo.Http;
using GrantSilo.Identity;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace GrantSilo.WebConsole;

/// <summary>The console's sign-in: one cookie scheme whose ticket (with the person's token) stays on the server.</summary>
public static class ConsoleAuth
{
    /// <summary>The cookie scheme.</summary>
    public const string Scheme = "GrantSilo.Console";

    /// <summary>The OpenID Connect scheme (when a provider is configured).</summary>
    public const string OidcScheme = "GrantSilo.Console.Oidc";

    /// <summary>The authorization policy of every console page and live stream.</summary>
    public const string Policy = "grantsilo-console";

    internal const string TokenName = "grantsilo";
    internal const string IssuerClaim = "grantsilo:issuer";
    internal const string KindClaim = "grantsilo:kind";

    /// <summary>The ticket of a verified caller: who they are and, kept server-side only, the token to call with.</summary>
    internal static (ClaimsPrincipal Principal, AuthenticationProperties Properties) Ticket(Caller caller, string token, DateTimeOffset idleLimit)
    {
        var identity = new ClaimsIdentity(Scheme, ClaimTypes.Name, ClaimTypes.Role);
        identity.AddClaim(new Claim(ClaimTypes.Name, caller.Name));
        identity.AddClaim(new Claim(IssuerClaim, caller.Issuer));
        identity.AddClaim(new Claim(KindClaim, caller.Kind.ToString()));
        foreach (var role in caller.Roles.Order(StringComparer.Ordinal))
        {
            identity.AddClaim(new Claim(ClaimTypes.Role, role));
        }
        var properties = new AuthenticationProperties
        {
            IsPersistent = false,
            AllowRefresh = false,
            // The session ends when the token does, whichever idle limit is set.
            ExpiresUtc = caller.ExpiresAt < idleLimit ? caller.ExpiresAt : idleLimit,
        };
        properties.StoreTokens([new AuthenticationToken { Name = TokenName, Value = token }]);
        return (new ClaimsPrincipal(identity), properties);
    }
}

/// <summary>
/// The signed-in person of a console request, and a GrantSilo client calling as them through the HTTP API's door
/// (<see cref="HttpGrantClient"/>): every console action is judged by the same rules as the same API call.
/// </summary>
public sealed class ConsoleCaller
{
    private ConsoleCaller(string name, string issuer, IReadOnlySet<string> roles, IGrantClient client, DateTimeOffset expiresAt, string token, CancellationToken sessionEnded)
    {
        Token = token;
        SessionEnded = sessionEnded;
        ExpiresAt = expiresAt;
        Name = name;
        Issuer = issuer;
        Roles = roles;
        Client = client;
    }

    /// <summary>The caller's name (<c>person:...</c>).</summary>
    public string Name { get; }

    /// <summary>The issuer that vouched for them.</summary>
    public string Issuer { get; }

    /// <summary>Their roles; they shape what the console offers, never what GrantSilo allows.</summary>
    public IReadOnlySet<string> Roles { get; }

    /// <summary>When the session ends (never later than the token does).</summary>
    public DateTimeOffset ExpiresAt { get; }

    /// <summary>Cancelled when their session ends (sign-out, expiry, or a sign-in over it): live streams end with it.</summary>
    public CancellationToken SessionEnded { get; }

    /// <summary>A client calling as them.</summary>
    public IGrantClient Client { get; }

    /// <summary>Their token, for the one grain call the SDK has no method for (the cluster's membership); never shown or logged.</summary>
    internal string Token { get; }

    /// <summary>True when the role is held (a hint for what to show; the API decides).</summary>
    public bool Has(string role) => Roles.Contains(role);

    /// <summary>The signed-in caller of <paramref name="http"/>, or null when no one is signed in or the session has no token.</summary>
    public static async Task<ConsoleCaller?> OfAsync(HttpContext http)
    {
        var result = await http.AuthenticateAsync(ConsoleAuth.Scheme).ConfigureAwait(false);
        if (!result.Succeeded || result.Properties?.GetTokenValue(ConsoleAuth.TokenName) is not { Length: > 0 } token)
        {
            return null;
        }
        var user = result.Principal!;
        var roles = user.FindAll(ClaimTypes.Role).Select(c => c.Value).ToHashSet(StringComparer.Ordinal);
        var client = http.RequestServices.GetRequiredService<HttpGrantClient>().For(token);
        var ended = http.RequestServices.GetRequiredService<MemoryTicketStore>().Ended(result.Properties);
        return new ConsoleCaller(user.Identity?.Name ?? "?", user.FindFirst(ConsoleAuth.IssuerClaim)?.Value ?? "?", roles, client,
            result.Properties.ExpiresUtc ?? DateTimeOffset.MinValue, token, ended);
    }
}
