using System.ComponentModel.DataAnnotations;
using GrantSilo.Identity;
using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Authentication.OpenIdConnect;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace GrantSilo.WebConsole;

/// <summary>
/// Co-hosts the web console with the HTTP API (which it needs): <see cref="AddGrantSiloConsole"/>, then
/// <see cref="UseGrantSiloConsole"/> after <c>UseGrantSiloHttpApi</c>.
/// </summary>
public static class GrantSiloConsole
{
    /// <summary>Whether the console is on: <c>GrantSilo:Console:Enabled</c>, else <paramref name="byDefault"/>.</summary>
    public static bool Enabled(IConfiguration configuration, bool byDefault) =>
        configuration.GetSection(ConsoleOptions.SectionName).GetValue<bool?>(nameof(ConsoleOptions.Enabled)) ?? byDefault;

    /// <summary>
    /// Counts this silo's decisions per second by result and reports its last minute to the cluster once a second
    /// (<see cref="DecisionRatePublisher"/>), so the overview served by any silo charts them all. The silo host registers
    /// it on every silo, with or without the console; registering it twice registers it once.
    /// </summary>
    public static IServiceCollection AddGrantSiloDecisionRates(this IServiceCollection services)
    {
        ArgumentNullException.ThrowIfNull(services);
        if (services.Any(d => d.ServiceType == typeof(DecisionRate)))
        {
            return services;
        }
        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton<DecisionRate>();
        services.AddHostedService(sp => sp.GetRequiredService<DecisionRate>());
        services.AddHostedService<DecisionRatePublisher>();
        return services;
    }

    /// <summary>Registers the console's pages, its server-side sign-in session and, when configured, OpenID Connect sign-in.</summary>
    public static ConsoleOptions AddGrantSiloConsole(this WebApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var options = new ConsoleOptions();
        builder.Configuration.GetSection(ConsoleOptions.SectionName).Bind(options);
        Validate(options);
        builder.Services.AddSingleton(Options.Create(options));
        builder.Services.TryAddSingleton(TimeProvider.System);
        builder.Services.AddSingleton<MemoryTicketStore>();
        builder.Services.AddSingleton<IPostConfigureOptions<CookieAuthenticationOptions>, UseTicketStore>();
        builder.Services.AddGrantSiloDecisionRates();
        builder.Services.AddSingleton<Pages.DevelopmentSignIn>();
        var cookies = ConsoleCookies.For(GrantSilo.Http.GrantSiloHttp.IsPlainHttpDevelopment(builder.Configuration, builder.Environment));
        builder.Services.AddSingleton(cookies);

        builder.Services.AddRazorPages(pages =>
        {
            pages.Conventions.AuthorizeFolder("/", ConsoleAuth.Policy);
            pages.Conventions.AllowAnonymousToPage("/SignIn");
        }).AddApplicationPart(typeof(GrantSiloConsole).Assembly);

        var authentication = builder.Services.AddAuthentication(ConsoleAuth.Scheme)
            .AddCookie(ConsoleAuth.Scheme, cookie =>
            {
                cookies.Apply(cookie.Cookie, "grantsilo-console");
                cookie.Cookie.HttpOnly = true;
                // Lax (not Strict) so the return from the identity provider finds the session; cross-site posts are
                // refused by antiforgery tokens on every form anyway.
                cookie.Cookie.SameSite = SameSiteMode.Lax;
                cookie.LoginPath = ConsoleOptions.PathBase + "/sign-in";
                cookie.LogoutPath = ConsoleOptions.PathBase + "/sign-in";
                cookie.AccessDeniedPath = ConsoleOptions.PathBase + "/sign-in";
                cookie.SlidingExpiration = false;
                cookie.Events.OnRedirectToLogin = context =>
                {
                    // The live streams answer 401, pages send the browser to the sign-in page.
                    if (context.Request.Path.StartsWithSegments(ConsoleOptions.PathBase + "/live", StringComparison.Ordinal))
                    {
                        context.Response.StatusCode = StatusCodes.Status401Unauthorized;
                        return Task.CompletedTask;
                    }
                    context.Response.Redirect(context.RedirectUri);
                    return Task.CompletedTask;
                };
            });
        if (options.Oidc.IsConfigured)
        {
            authentication.AddOpenIdConnect(ConsoleAuth.OidcScheme, oidc =>
            {
                oidc.SignInScheme = ConsoleAuth.Scheme;
                oidc.Authority = options.Oidc.Authority;
                oidc.ClientId = options.Oidc.ClientId;
                oidc.ClientSecret = options.Oidc.ClientSecret;
                oidc.RequireHttpsMetadata = options.Oidc.RequireHttpsMetadata;
                oidc.ResponseType = "code";
                oidc.ResponseMode = "query";
                oidc.UsePkce = true;
                oidc.CallbackPath = ConsoleOptions.PathBase + "/signin-oidc";
                oidc.SaveTokens = false;
                oidc.MapInboundClaims = false;
                oidc.GetClaimsFromUserInfoEndpoint = false;
                // The handler adds a suffix per sign-in to these names, after the prefix.
                cookies.Apply(oidc.CorrelationCookie, "grantsilo-console-correlation.");
                cookies.Apply(oidc.NonceCookie, "grantsilo-console-nonce.");
                foreach (var scope in options.Oidc.Scopes)
                {
                    oidc.Scope.Add(scope);
                }
                oidc.Events.OnTokenValidated = OidcSignIn.OnTokenValidatedAsync;
                oidc.Events.OnRemoteFailure = OidcSignIn.OnRemoteFailureAsync;
            });
        }
        builder.Services.AddAuthorizationBuilder().AddPolicy(ConsoleAuth.Policy, policy => policy
            .AddAuthenticationSchemes(ConsoleAuth.Scheme)
            .RequireAuthenticatedUser());
        builder.Services.AddAntiforgery(antiforgery =>
        {
            cookies.Apply(antiforgery.Cookie, "grantsilo-console-af");
            antiforgery.Cookie.SameSite = SameSiteMode.Strict;
            antiforgery.SuppressXFrameOptionsHeader = false;
        });
        builder.Services.Configure<CookieTempDataProviderOptions>(temp =>
        {
            cookies.Apply(temp.Cookie, "grantsilo-console-msg");
            temp.Cookie.SameSite = SameSiteMode.Strict;
        });
        return options;
    }

    /// <summary>The console's middleware (for <c>/console</c> only) and routes. Call after <c>UseGrantSiloHttpApi</c>.</summary>
    public static WebApplication UseGrantSiloConsole(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        app.UseWhen(http => http.Request.Path.StartsWithSegments(ConsoleOptions.PathBase, StringComparison.OrdinalIgnoreCase), console =>
        {
            console.Use(SecurityHeaders.ApplyAsync);
            console.UseAuthentication();
            console.UseAuthorization();
        });
        app.MapRazorPages();
        ConsoleEndpoints.Map(app);
        return app;
    }

    private static void Validate(ConsoleOptions options)
    {
        var errors = new List<string>();
        if (options.IdleTimeout <= TimeSpan.Zero || options.IdleTimeout > TimeSpan.FromHours(12))
        {
            errors.Add($"{ConsoleOptions.SectionName}:IdleTimeout must be between 00:00:01 and 12:00:00.");
        }
        if (options.Oidc.IsConfigured)
        {
            if (!Uri.TryCreate(options.Oidc.Authority, UriKind.Absolute, out var authority) || (authority.Scheme != Uri.UriSchemeHttps && options.Oidc.RequireHttpsMetadata))
            {
                errors.Add($"{ConsoleOptions.SectionName}:Oidc:Authority must be an absolute https URL (the provider's issuer).");
            }
            else if (!options.Oidc.RequireHttpsMetadata && !authority.IsLoopback)
            {
                // Over plain HTTP the provider's keys, the code exchange and the client secret are anyone's on the way.
                errors.Add($"{ConsoleOptions.SectionName}:Oidc:RequireHttpsMetadata may be false only for a provider on loopback (a test provider): set it to true and serve {authority.Host} over https.");
            }
            if (string.IsNullOrWhiteSpace(options.Oidc.ClientId))
            {
                errors.Add($"{ConsoleOptions.SectionName}:Oidc:ClientId is required with an Authority: the console's client id at the provider.");
            }
        }
        if (errors.Count > 0)
        {
            throw new OptionsValidationException(ConsoleOptions.SectionName, typeof(ConsoleOptions), errors);
        }
    }
}

/// <summary>The end of an OpenID Connect sign-in: the token is verified by the HTTP API's authenticator, or no one is signed in.</summary>
internal static partial class OidcSignIn
{
    /// <summary>
    /// A sign-in that did not complete (the provider refused, the state or PKCE did not match, GrantSilo did not accept
    /// the token): nobody is signed in, and the person is sent back to the sign-in page saying so, never to an error page.
    /// </summary>
    public static Task OnRemoteFailureAsync(RemoteFailureContext context)
    {
        var logger = context.HttpContext.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(OidcSignIn).FullName!);
        // The failure's message names the check that failed; the handler never puts a token in it.
        LogSignInFailed(logger, context.Failure?.GetType().Name ?? "?", context.Failure?.Message ?? "");
        context.Response.Redirect(ConsoleOptions.PathBase + "/sign-in?failed=oidc");
        context.HandleResponse();
        return Task.CompletedTask;
    }

    [LoggerMessage(EventId = 4301, Level = LogLevel.Warning, Message = "Console sign-in through the OpenID Connect provider failed ({Kind}): {Reason}")]
    private static partial void LogSignInFailed(ILogger logger, string kind, string reason);

    public static async Task OnTokenValidatedAsync(TokenValidatedContext context)
    {
        var options = context.HttpContext.RequestServices.GetRequiredService<IOptions<ConsoleOptions>>().Value;
        var token = options.Oidc.UseAccessToken ? context.TokenEndpointResponse?.AccessToken : context.TokenEndpointResponse?.IdToken ?? context.ProtocolMessage?.IdToken;
        if (string.IsNullOrEmpty(token))
        {
            context.Fail("The identity provider returned no token to call GrantSilo with.");
            return;
        }
        var authenticator = context.HttpContext.RequestServices.GetRequiredService<ICallerAuthenticator>();
        var result = await authenticator.AuthenticateAsync(token, context.HttpContext.RequestAborted).ConfigureAwait(false);
        if (result.Caller is not { } caller)
        {
            context.Fail($"GrantSilo does not accept the identity provider's token ({result.Failure}): it must come from an issuer of GrantSilo:Identity:Issuers, for GrantSilo's audience.");
            return;
        }
        // The provider vouched for someone (the state, nonce and PKCE checked): any session this browser held ends, and
        // the sign-in gets a session key of its own, never the one an earlier cookie named (which someone else may hold).
        MemoryTicketStore.BeginSignIn(context.HttpContext);
        var time = context.HttpContext.RequestServices.GetRequiredService<TimeProvider>();
        var (principal, properties) = ConsoleAuth.Ticket(caller, token, time.GetUtcNow() + options.IdleTimeout);
        context.Principal = principal;
        context.Properties!.ExpiresUtc = properties.ExpiresUtc;
        context.Properties.IsPersistent = false;
        context.Properties.StoreTokens(properties.GetTokens());
    }
}

/// <summary>Clickjacking and script-injection defences, and no caching, for every console response.</summary>
internal static class SecurityHeaders
{
    public const string ContentSecurityPolicy =
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; font-src 'self'; " +
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

    public static Task ApplyAsync(HttpContext http, RequestDelegate next)
    {
        http.Response.OnStarting(() =>
        {
            var headers = http.Response.Headers;
            headers.ContentSecurityPolicy = ContentSecurityPolicy;
            headers.XFrameOptions = "DENY";
            headers.XContentTypeOptions = "nosniff";
            headers["Referrer-Policy"] = "no-referrer";
            headers["Cross-Origin-Opener-Policy"] = "same-origin";
            if (!http.Request.Path.StartsWithSegments(ConsoleOptions.PathBase + "/assets", StringComparison.Ordinal))
            {
                headers.CacheControl = "no-store";
            }
            return Task.CompletedTask;
        });
        return next(http);
    }
}
