using System.Net;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace GrantSilo.WebConsole.Tests;

/// <summary>Task trees in a real browser: revoking the middle of a tree, confirmed with its descendant count, watched live.</summary>
[Collection(ConsoleSiloCollection.Name)]
public sealed class TaskTreeTests(ConsoleSilo silo)
{
    [Fact]
    public async Task RevokeTheMiddleOfAThreeLevelTree_EveryDescendantTurnsRevokedOnScreen_TheRootStays()
    {
        var world = new World(silo);
        var person = $"fay-{world.Run}@test.dev";
        var planner = await world.AgentAsync("planner", depth: 2);
        var worker = await world.AgentAsync("worker", depth: 1);
        var helper = await world.AgentAsync("helper");
        var root = await world.RootTaskAsync(person, planner, depth: 2, "plan the quarter");
        var (rootProof, _) = await world.CredentialAsync(planner, root);
        var middle = await world.DelegateAsync(planner, root, rootProof, worker, depth: 1);
        var (middleProof, middleCredential) = await world.CredentialAsync(worker, middle);
        var leaf = await world.DelegateAsync(worker, middle, middleProof, helper, depth: 0);
        await world.CredentialAsync(helper, leaf);

        var page = await silo.PageAsync();
        await ConsoleSilo.SignInAsync(page, $"olga-{world.Run}@test.dev", "operator");
        await page.GotoAsync($"/console/tasks?id={root}");
        var node = (string id) => page.Locator($"li[data-node=\"{id}\"]");
        var status = (string id) => node(id).Locator(":scope > .node [data-field=status]");
        await Expect(status(root)).ToHaveTextAsync("Active");
        await Expect(status(middle)).ToHaveTextAsync("Active");
        await Expect(status(leaf)).ToHaveTextAsync("Active");
        // Credentials per node.
        await Expect(node(middle).Locator(":scope > .node")).ToContainTextAsync(middleCredential);
        await Expect(page.Locator("#tree-state")).ToContainTextAsync("Live");
        await ConsoleSilo.ScreenshotAsync(page, "task-tree");

        // A second window on the same tree, never reloaded: it must see the cascade through the live stream alone.
        var watcher = await page.Context.NewPageAsync();
        await watcher.GotoAsync($"/console/tasks?id={root}");
        await Expect(watcher.Locator("#tree-state")).ToContainTextAsync("Live");

        await page.GetByRole(AriaRole.Link, new() { Name = $"Revoke task {middle}" }).ClickAsync();
        await Expect(page.GetByTestId("confirm-text")).ToContainTextAsync($"This ends task {middle} and 1 live descendant task(s)");
        await ConsoleSilo.ScreenshotAsync(page, "task-revoke-confirm");
        await page.GetByLabel("Reason (recorded)").FillAsync("leaked prompt");
        await page.GetByRole(AriaRole.Button, new() { Name = "Revoke 2 task(s)" }).ClickAsync();
        await Expect(page.GetByTestId("success")).ToContainTextAsync($"Revoked task {middle}");

        foreach (var window in new[] { page, watcher })
        {
            var statusIn = (string id) => window.Locator($"li[data-node=\"{id}\"] > .node [data-field=status]");
            await Expect(statusIn(middle)).ToHaveTextAsync("Revoked");
            await Expect(statusIn(leaf)).ToHaveTextAsync("Revoked");
            await Expect(statusIn(root)).ToHaveTextAsync("Active");
            // No credential of the revoked nodes is shown active any more.
            await Expect(window.Locator($"li[data-node=\"{middle}\"] [data-field=credential-status]", new() { HasTextString = "Active" })).ToHaveCountAsync(0);
        }
        // The window that never reloaded watched the middle node's credential end.
        await Expect(watcher.Locator($"li[data-node=\"{middle}\"] > .node [data-credential=\"{middleCredential}\"] [data-field=credential-status]"))
            .ToHaveTextAsync(new System.Text.RegularExpressions.Regex("^(Revoked|Ended)$"));
        await ConsoleSilo.ScreenshotAsync(watcher, "task-tree-revoked");

        // What the screen says is what GrantSilo holds.
        var tree = await silo.SendAsync(HttpMethod.Get, $"/v1/tasks/{leaf}", silo.Operator());
        Assert.True(tree.Status == HttpStatusCode.OK, tree.ToString());
        Assert.Equal("revoked", tree["status"]);
    }

    [Fact]
    public async Task ATaskOutsideTheCallersReach_ShowsTheApisRefusal()
    {
        var world = new World(silo);
        var agent = await world.AgentAsync("planner");
        var root = await world.RootTaskAsync($"gus-{world.Run}@test.dev", agent, depth: 0, "private work");

        var page = await silo.PageAsync();
        await ConsoleSilo.SignInAsync(page, $"stranger-{world.Run}@test.dev", "approver");
        await page.GotoAsync($"/console/tasks?id={root}");
        await Expect(page.GetByRole(AriaRole.Alert)).ToContainTextAsync("Forbidden");
        Assert.Equal(0, await page.Locator($"li[data-node=\"{root}\"]").CountAsync());
    }
}
