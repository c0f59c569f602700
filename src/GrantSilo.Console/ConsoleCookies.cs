using Microsoft.AspNetCore.Http;

namespace GrantSilo.WebConsole;

/// <summary>
/// The names, path and <c>Secure</c> flag of the console's cookies (session, antiforgery, messages, and the OpenID
/// Connect correlation and nonce cookies). Served over HTTPS they are <c>__Host-</c> cookies: <c>Secure</c>,
/// <c>Path=/</c> and no <c>Domain</c>, so a page of a sibling subdomain (or one reached over plain HTTP) cannot plant or
/// overwrite them. <c>Secure</c> never depends on the scheme the silo sees, which behind a proxy that terminates TLS is
/// plain HTTP. Only in plain-HTTP Development on loopback (<see cref="GrantSilo.Http.GrantSiloHttp.IsPlainHttpDevelopment"/>)
/// do they go without the prefix and <c>Secure</c>, under <c>/console</c>: a browser refuses a <c>__Host-</c> cookie
/// that is not <c>Secure</c>, and a <c>Secure</c> one over plain HTTP.
/// </summary>
public sealed class ConsoleCookies
{
    /// <summary>The prefix of every console cookie's name when served over HTTPS.</summary>
    public const string HostPrefix = "__Host-";

    private ConsoleCookies(bool plainHttpDevelopment) => PlainHttpDevelopment = plainHttpDevelopment;

    /// <summary>True in plain-HTTP Development on loopback: names without the prefix, not <c>Secure</c>, under <c>/console</c>.</summary>
    public bool PlainHttpDevelopment { get; }

    /// <summary>The cookies of a console served over HTTPS (<paramref name="plainHttpDevelopment"/> false) or in plain-HTTP Development.</summary>
    public static ConsoleCookies For(bool plainHttpDevelopment) => new(plainHttpDevelopment);

    /// <summary>The full name of the cookie called <paramref name="name"/>.</summary>
    public string Name(string name) => PlainHttpDevelopment ? name : HostPrefix + name;

    /// <summary>Names <paramref name="cookie"/> and sets its path, domain and <c>Secure</c> flag.</summary>
    public void Apply(CookieBuilder cookie, string name)
    {
        ArgumentNullException.ThrowIfNull(cookie);
        cookie.Name = Name(name);
        cookie.Domain = null;
        if (PlainHttpDevelopment)
        {
            cookie.Path = ConsoleOptions.PathBase;
            // The OpenID Connect correlation and nonce cookies are SameSite=None, which a browser keeps only when Secure:
            // they stay Secure (browsers accept that from a loopback address over http).
            if (cookie.SameSite != SameSiteMode.None)
            {
                cookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
            }
        }
        else
        {
            // __Host- requires Path=/ (and Secure, no Domain): the console's cookies are then sent to the API's paths too,
            // where nothing reads them (the API takes bearer tokens only).
            cookie.Path = "/";
            cookie.SecurePolicy = CookieSecurePolicy.Always;
        }
    }
}
