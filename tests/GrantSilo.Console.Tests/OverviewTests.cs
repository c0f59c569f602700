using System.Globalization;
using System.Text.RegularExpressions;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace GrantSilo.WebConsole.Tests;

/// <summary>The overview in a real browser: the cluster's silos and their health, decisions per second by result, approvals waiting, pending cascades and recent revocations.</summary>
[Collection(ConsoleSiloCollection.Name)]
public sealed partial class OverviewTests(ConsoleSilo silo)
{
    [Fact]
    public async Task Overview_ShowsTheClustersSilos_DecisionRates_ApprovalsWaiting_PendingCascades_AndRecentRevocations()
    {
        var world = new World(silo);
        var person = $"olive-{world.Run}@test.dev";
        var agent = await world.AgentAsync("overview");
        var revoked = await world.RootTaskAsync(person, agent, depth: 0, "to be revoked");
        var (_, revokedCredential) = await world.CredentialAsync(agent, revoked);
        var waiting = await world.RootTaskAsync(person, agent, depth: 0, "waits for a person");
        var (token, _) = await world.CredentialAsync(agent, waiting);
        // A step-up (an approval waiting, and a decision by result), and a revocation with its cascade to the credential.
        var (kind, _) = await world.ReadSecretAsync(token, "payments/key");
        Assert.Equal("stepUpRequired", kind);
        var reason = $"overview test {world.Run}";
        var revoke = await silo.SendAsync(HttpMethod.Post, $"/v1/tasks/{revoked}/revoke", silo.Operator(), new { reason });
        Assert.True(revoke.Status == System.Net.HttpStatusCode.OK, revoke.ToString());

        var page = await silo.PageAsync();
        await ConsoleSilo.SignInAsync(page, $"oscar-{world.Run}@test.dev", "operator");
        await Expect(page.GetByRole(AriaRole.Heading, new() { Level = 1 })).ToHaveTextAsync("Overview");

        // Every silo of the membership table (this test cluster has one), the one serving the page marked, with its health.
        var silos = page.GetByTestId("silos").Locator("tbody tr");
        await Expect(silos).Not.ToHaveCountAsync(0);
        var serving = silos.Filter(new() { HasText = "(serving this page)" });
        await Expect(serving).ToHaveCountAsync(1);
        await Expect(serving.Locator("[data-field=status]")).ToHaveTextAsync("Active");
        await Expect(serving.Locator("code")).ToContainTextAsync("127.0.0.1");

        // Approvals waiting counts this one; pending cascades is a number.
        var approvals = int.Parse(await page.GetByTestId("approvals-waiting").InnerTextAsync(), CultureInfo.InvariantCulture);
        Assert.True(approvals >= 1, $"{approvals} approvals waiting");
        Assert.True(int.TryParse(await page.GetByTestId("cascades-pending").InnerTextAsync(), NumberStyles.None, CultureInfo.InvariantCulture, out _));

        // Recent revocations: the task, by the operator with the reason, and its credential, ended by the cascade from it.
        var revocations = page.GetByTestId("revocations");
        await Expect(revocations.Locator($"li[data-revoked=\"{revoked}\"][data-kind=TaskRevoked]")).ToContainTextAsync(reason);
        await Expect(revocations.Locator($"li[data-revoked=\"{revoked}\"] a")).ToHaveAttributeAsync("href", $"/console/tasks?id={Uri.EscapeDataString(revoked)}");
        // The cascade reaches the credential after the revoke answers: the page is read again until it has.
        var cascaded = revocations.Locator($"li[data-revoked=\"{revokedCredential}\"][data-kind=CredentialRevoked]");
        await Eventually.HoldsAsync(async () =>
        {
            if (await cascaded.CountAsync() > 0)
            {
                return true;
            }
            await page.ReloadAsync();
            return false;
        }, TimeSpan.FromSeconds(30), "the credential's revocation listed");
        await Expect(cascaded).ToContainTextAsync($"in the cascade from {revoked}");

        // Decisions per second by result, the chart refreshed in place: the step-up shows in its series.
        await Expect(page.Locator("#chart-desc")).ToHaveTextAsync(StepUpSeen());
        Assert.Equal(3, await page.Locator("#chart polyline.series").CountAsync());
        await ConsoleSilo.ScreenshotAsync(page, "overview");
    }

    [Fact]
    public async Task Overview_ForAnApprover_ShowsTheApisRefusalForSilosDecisionRatesAndRevocations()
    {
        var page = await silo.PageAsync();
        await ConsoleSilo.SignInAsync(page, $"april-{Guid.NewGuid():N}@test.dev", "approver");
        // The membership read is cluster.manage and the audit log audit.read: an approver holds neither.
        await Expect(page.GetByTestId("silos-refused")).ToContainTextAsync("Forbidden");
        // So are the cluster's decision rates: the chart shows the API's refusal instead.
        await Expect(page.GetByTestId("rates-refused")).ToContainTextAsync("Forbidden");
        Assert.Equal(0, await page.Locator("#chart svg").CountAsync());
        await Expect(page.GetByTestId("revocations")).ToHaveCountAsync(0);
        await Expect(page.GetByTestId("approvals-waiting")).ToBeVisibleAsync();
    }

    [GeneratedRegex(@"StepUpRequired: (0\.\d*[1-9]|[1-9][\d.]*) per second")]
    private static partial Regex StepUpSeen();
}
