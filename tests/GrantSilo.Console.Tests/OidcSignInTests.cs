using System.Text.RegularExpressions;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace GrantSilo.WebConsole.Tests;

/// <summary>
/// Sign-in through an organisation's OpenID Connect provider that is not the development issuer: the authorization
/// code flow with PKCE, the person's roles taken from that issuer's token as GrantSilo's issuer configuration maps them,
/// and a token GrantSilo does not accept signing no one in.
/// </summary>
[Collection(ConsoleSiloCollection.Name)]
public sealed class OidcSignInTests(ConsoleSilo silo)
{
    [Fact]
    public async Task SignInThroughTheOrganisationsProvider_WithPkce_TheRolesComeFromItsToken_AndTheApisRulesFollowThem()
    {
        var world = new World(silo);
        var email = $"olga-{world.Run}@org.test";
        silo.Oidc.Person = (email, ["approver"]);
        silo.Oidc.AccessTokenAudience = TestIdentity.Audience;
        var verifiedBefore = silo.Oidc.VerifiedExchanges;

        var page = await silo.PageAsync();
        await page.GotoAsync("/console");
        await Expect(page).ToHaveURLAsync(new Regex("/console/sign-in"));
        await page.GetByRole(AriaRole.Link, new() { Name = "Sign in with your organisation" }).ClickAsync();

        // Back from the provider, signed in as the person its token names, with the roles it carries.
        await Expect(page.GetByTestId("signed-in-as")).ToHaveTextAsync($"person:{email}");
        await Expect(page.Locator(".who .roles")).ToHaveTextAsync("approver");
        Assert.EndsWith("/console", new Uri(page.Url).AbsolutePath, StringComparison.Ordinal);
        Assert.Equal("S256", Assert.Single(silo.Oidc.ChallengeMethods.Distinct()));
        Assert.Equal(verifiedBefore + 1, silo.Oidc.VerifiedExchanges);
        // The token stays on the server: the browser holds only the session's reference.
        var cookies = await page.Context.CookiesAsync();
        Assert.All(cookies, c => Assert.DoesNotContain("eyJ", c.Value, StringComparison.Ordinal));
        Assert.Single(cookies, c => c.Name == "grantsilo-console");

        // The roles are what the API's rules see: an approver watches the inbox, but the audit log (operators and
        // auditors) refuses them.
        await page.GetByRole(AriaRole.Link, new() { Name = "Approvals" }).ClickAsync();
        await Expect(page.Locator("#inbox-state")).ToContainTextAsync("Live");
        await page.GotoAsync("/console/lineage?decision=0190a0b0-0000-7000-8000-000000000000");
        await Expect(page.GetByTestId("problem")).ToContainTextAsync("Forbidden");
        await ConsoleSilo.ScreenshotAsync(page, "sign-in-oidc");

        // Another person of the organisation, an auditor there: the same sign-in gives the auditor's view.
        var auditor = await silo.PageAsync();
        silo.Oidc.Person = ($"abel-{world.Run}@org.test", ["auditor"]);
        await auditor.GotoAsync("/console/sign-in?handler=Oidc");
        await Expect(auditor.GetByTestId("signed-in-as")).ToHaveTextAsync($"person:abel-{world.Run}@org.test");
        await Expect(auditor.Locator(".who .roles")).ToHaveTextAsync("auditor");
        await auditor.GotoAsync("/console/lineage?decision=0190a0b0-0000-7000-8000-000000000000");
        await Expect(auditor.GetByTestId("problem")).ToContainTextAsync("AuditRecordNotFound");
    }

    [Fact]
    public async Task ATokenGrantSiloDoesNotAccept_SignsNoOneIn_AndSaysSo()
    {
        var world = new World(silo);
        silo.Oidc.Person = ($"mallory-{world.Run}@org.test", ["operator"]);
        // The provider's access token is for another audience: the console's check with GrantSilo's own authenticator refuses it.
        silo.Oidc.AccessTokenAudience = "someone-else";
        try
        {
            var page = await silo.PageAsync();
            await page.GotoAsync("/console/sign-in?handler=Oidc");
            await Expect(page).ToHaveURLAsync(new Regex("/console/sign-in\\?failed=oidc$"));
            await Expect(page.GetByTestId("problem")).ToContainTextAsync("nobody is signed in");
            Assert.DoesNotContain(await page.Context.CookiesAsync(), c => c.Name == "grantsilo-console");
            await page.GotoAsync("/console");
            await Expect(page).ToHaveURLAsync(new Regex("/console/sign-in"));
        }
        finally
        {
            silo.Oidc.AccessTokenAudience = TestIdentity.Audience;
        }
    }
}
