using System.Text.RegularExpressions;
using GrantSilo.Identity;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace GrantSilo.WebConsole.Pages;

/// <summary>
/// Sign-in: through the configured OpenID Connect provider, or, only while the development issuer is active, as any
/// person with any roles picked here (its tokens are verified by the same authenticator as every other token).
/// </summary>
public sealed partial class SignInModel(IOptions<ConsoleOptions> options, IOptions<IdentityOptions> identity, ICallerAuthenticator authenticator, TimeProvider time) : PageModel
{
    /// <summary>The roles offered at the development sign-in.</summary>
    public static readonly string[] KnownRoles = ["approver", "operator", "auditor", "policy-author", "orchestrator", "gateway", "agent"];

    public bool Oidc => options.Value.Oidc.IsConfigured;

    public bool Development => identity.Value.Development.Enabled;

    public string? Error { get; private set; }

    [BindProperty]
    public string? Name { get; set; }

    [BindProperty]
    public List<string> Roles { get; set; } = [];

    /// <summary>Set when a sign-in through the provider came back without anyone signed in.</summary>
    [Microsoft.AspNetCore.Mvc.BindProperty(SupportsGet = true, Name = "failed")]
    public string? Failed { get; set; }

    /// <summary>Set when a sign-in ended the session of whoever was signed in before in this browser.</summary>
    [Microsoft.AspNetCore.Mvc.BindProperty(SupportsGet = true, Name = "ended")]
    public string? Ended { get; set; }

    public IActionResult OnGetOidc() => Oidc
        ? Challenge(new AuthenticationProperties { RedirectUri = ConsoleOptions.PathBase }, ConsoleAuth.OidcScheme)
        : NotFound();

    public async Task<IActionResult> OnPostDevelopmentAsync()
    {
        // The development issuer exists only when enabled (and allowed in this environment); otherwise nothing is minted.
        if (!Development || HttpContext.RequestServices.GetService<DevelopmentIssuer>() is not { } issuer)
        {
            return NotFound();
        }
        if (User.Identity?.IsAuthenticated == true)
        {
            // Someone is signed in in this browser already. Their session ends first, and the next sign-in starts a new
            // one: a sign-in never continues under a session key the browser was holding (someone may have planted or
            // copied that cookie). This request's antiforgery token was made for them, so the form is shown afresh.
            await HttpContext.SignOutAsync(ConsoleAuth.Scheme);
            return Redirect(ConsoleOptions.PathBase + "/sign-in?ended=1");
        }
        var name = Name?.Trim() ?? "";
        if (!PersonName().IsMatch(name))
        {
            Error = "A name is 1 to 128 letters, digits and . _ @ + - (for example dana@acme.dev).";
            return Page();
        }
        var roles = Roles.Where(r => KnownRoles.Contains(r, StringComparer.Ordinal)).Distinct(StringComparer.Ordinal).ToArray();
        var token = HttpContext.RequestServices.GetRequiredService<DevelopmentSignIn>().Tokens(issuer).ForPerson(name, roles);
        var result = await authenticator.AuthenticateAsync(token, HttpContext.RequestAborted);
        if (result.Caller is not { } caller)
        {
            Error = $"GrantSilo refused the development token ({result.Failure}).";
            return Page();
        }
        var (principal, properties) = ConsoleAuth.Ticket(caller, token, time.GetUtcNow() + options.Value.IdleTimeout);
        await HttpContext.SignInAsync(ConsoleAuth.Scheme, principal, properties);
        return Redirect(ConsoleOptions.PathBase);
    }

    public async Task<IActionResult> OnPostSignOutAsync()
    {
        await HttpContext.SignOutAsync(ConsoleAuth.Scheme);
        return Redirect(ConsoleOptions.PathBase + "/sign-in");
    }

    [GeneratedRegex(@"^[A-Za-z0-9._@+\-]{1,128}$")]
    private static partial Regex PersonName();
}

/// <summary>
/// One minter over the development issuer's key for the console's lifetime: IdentityModel caches a signer per key id,
/// so a minter made and disposed per sign-in would leave a disposed key in that cache.
/// </summary>
internal sealed class DevelopmentSignIn(TimeProvider time) : IDisposable
{
    private readonly Lock _gate = new();
    private DevelopmentTokens? _tokens;

    public DevelopmentTokens Tokens(DevelopmentIssuer issuer)
    {
        lock (_gate)
        {
            return _tokens ??= issuer.CreateTokens(time);
        }
    }

    public void Dispose() => _tokens?.Dispose();
}
