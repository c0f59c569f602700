using System.Globalization;
using System.Net;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace GrantSilo.WebConsole.Tests;

/// <summary>
/// The overview of a cluster of two real silo-host processes (on Azurite), in a real browser: both silos with their
/// status, the decisions made through either charted by the one serving the page, and a killed silo shown dead and no
/// longer counted.
/// </summary>
public sealed class OverviewClusterTests(ConsoleCluster cluster) : IClassFixture<ConsoleCluster>
{
    [Fact]
    public async Task Overview_OfTwoSilos_ListsBoth_ChartsDecisionsMadeOnTheOther_AndShowsItDeadOnceKilled()
    {
        var (a, b) = (cluster.Silos[0], cluster.Silos[1]);
        var page = await cluster.PageAsync(a);
        await ConsoleSilo.SignInAsync(page, $"otto-{Guid.NewGuid():N}@test.dev", "operator");
        var rows = page.GetByTestId("silos").Locator("tbody tr");
        ILocator Row(ConsoleClusterSilo silo) => rows.Filter(new() { HasText = $"127.0.0.1:{silo.SiloPort}:" });

        // Both silos, active; the one serving the page marked.
        await Expect(Row(a)).ToHaveCountAsync(1);
        await Expect(Row(b)).ToHaveCountAsync(1);
        await Expect(Row(a).Locator("[data-field=status]")).ToHaveTextAsync("Active");
        await Expect(Row(b).Locator("[data-field=status]")).ToHaveTextAsync("Active");
        await Expect(Row(a)).ToContainTextAsync("(serving this page)");
        await Expect(Row(b)).Not.ToContainTextAsync("(serving this page)");
        var bName = await Row(b).GetAttributeAsync("data-silo");
        Assert.False(string.IsNullOrEmpty(bName));

        // Step-ups asked through silo B's HTTP API, each with its own credential (whose grain lands on either silo), until
        // the audit log shows that silo B itself made at least one of them.
        var world = new World(b);
        var agent = await world.AgentAsync("cluster");
        var task = await world.RootTaskAsync($"orla-{world.Run}@test.dev", agent, depth: 0, "spread over the cluster");
        var (made, madeOnB) = (0, 0);
        while (made < 4 || (madeOnB == 0 && made < 24))
        {
            var (token, _) = await world.CredentialAsync(agent, task);
            var decision = await world.ReadSecretAnswerAsync(token, $"payments/key-{made}");
            Assert.True(decision["kind"] == "stepUpRequired", decision.ToString());
            made++;
            var lineage = await Eventually.LastAsync(
                () => b.SendAsync(HttpMethod.Get, $"/v1/audit/decisions/{decision["decisionId"]}/lineage", b.Operator()),
                answer => answer.Status != HttpStatusCode.NotFound, TimeSpan.FromSeconds(30));
            Assert.True(lineage.Status == HttpStatusCode.OK, lineage.ToString());
            if (lineage.Json.GetProperty("decision").GetProperty("record").GetProperty("silo").GetString() == bName)
            {
                madeOnB++;
            }
        }
        Assert.True(madeOnB > 0, $"none of {made} decisions was made on silo B");

        // The chart served by silo A counts them all, and silo B's row its own.
        var stepUps = page.Locator("#chart .legend[data-kind=StepUpRequired]");
        long Count(string? text) => long.Parse(text ?? "0", CultureInfo.InvariantCulture);
        async Task<long> RowCountAsync(ConsoleClusterSilo silo) =>
            await Row(silo).Locator("[data-field=decisions] [data-kind=StepUpRequired]").CountAsync() == 0 ? 0 : Count(await Row(silo).Locator("[data-field=decisions] [data-kind=StepUpRequired]").GetAttributeAsync("data-count"));
        await Eventually.HoldsAsync(async () =>
        {
            await page.ReloadAsync();
            return await RowCountAsync(b) >= madeOnB && Count(await stepUps.GetAttributeAsync("data-total")) >= made;
        }, TimeSpan.FromSeconds(30), "silo A's overview counting the step-ups made through silo B");
        var (onA, onB, total) = (await RowCountAsync(a), await RowCountAsync(b), Count(await stepUps.GetAttributeAsync("data-total")));
        Assert.Equal(onA + onB, total);
        Assert.Equal(made - madeOnB, onA);
        Assert.Equal(madeOnB, onB);
        await Expect(page.Locator("#chart-desc")).ToContainTextAsync("StepUpRequired");
        await ConsoleSilo.ScreenshotAsync(page, "overview-cluster");

        // Silo B dies without a word: its row shows it is no longer active, and its figures stop counting.
        b.Process.Kill();
        await Eventually.HoldsAsync(async () =>
        {
            await page.ReloadAsync();
            return await Row(b).Locator("[data-field=status]").InnerTextAsync() != "Active";
        }, TimeSpan.FromSeconds(60), "silo B's row no longer Active");
        await Expect(Row(b).Locator("[data-field=status]")).ToHaveTextAsync("Dead", new() { Timeout = 60_000 });
        await Expect(Row(b).Locator("[data-field=decisions]")).ToHaveTextAsync("not counted");
        await Expect(Row(a).Locator("[data-field=status]")).ToHaveTextAsync("Active");
        await Eventually.HoldsAsync(async () =>
        {
            await page.ReloadAsync();
            return await stepUps.CountAsync() == 1 && Count(await stepUps.GetAttributeAsync("data-total")) == await RowCountAsync(a);
        }, TimeSpan.FromSeconds(30), "the chart counting silo A alone");
        await ConsoleSilo.ScreenshotAsync(page, "overview-cluster-silo-dead");
    }
}
