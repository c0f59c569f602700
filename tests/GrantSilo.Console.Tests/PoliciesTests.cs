using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace GrantSilo.WebConsole.Tests;

/// <summary>Policies in a real browser: a refused draft shows its error at its line, the fixed draft publishes.</summary>
[Collection(ConsoleSiloCollection.Name)]
public sealed class PoliciesTests(ConsoleSilo silo)
{
    [Fact]
    public async Task ValidateADraft_ErrorsInlineAtTheirPositions_NothingPublished_ThenTheFixedDraftValidatesAndPublishes()
    {
        var run = Guid.NewGuid().ToString("N")[..10];
        var page = await silo.PageAsync();
        await ConsoleSilo.SignInAsync(page, $"val-{run}@test.dev", "policy-author");
        await page.GotoAsync("/console/policies");
        var versions = page.Locator("tr[data-version]");
        var before = await versions.CountAsync();
        var draft = page.GetByLabel("Cedar policy text");
        var active = await draft.InputValueAsync();
        var lines = active.Replace("\r\n", "\n", StringComparison.Ordinal).Split('\n').Length;

        // An action the schema does not declare: a schema error, not a syntax one, at the added policy's line.
        await draft.FillAsync(active + "\n// validate " + run + "\npermit(principal, action == Action::\"no-such-action-" + run + "\", resource);\n");
        await page.GetByRole(AriaRole.Button, new() { Name = "Validate" }).ClickAsync();
        await Expect(page.GetByTestId("draft-error")).ToContainTextAsync("UnrecognizedActionId");
        var marked = page.GetByTestId("error-line");
        await Expect(marked).ToContainTextAsync("no-such-action-" + run);
        var line = int.Parse((await marked.GetAttributeAsync("data-line"))!, System.Globalization.CultureInfo.InvariantCulture);
        Assert.Equal(lines + 2, line);
        await Expect(marked.Locator(".inline-error")).ToContainTextAsync("does not validate against schema version");
        await Expect(draft).ToHaveAttributeAsync("aria-invalid", "true");
        Assert.Contains("validate " + run, await draft.InputValueAsync(), StringComparison.Ordinal);
        // Validating stored nothing.
        await Expect(versions).ToHaveCountAsync(before);
        await ConsoleSilo.ScreenshotAsync(page, "policies-validate-error");

        // Fixed: it validates, still nothing is published; then it publishes.
        await draft.FillAsync(active + "\n// validate " + run + "\n@id(\"validated-" + run + "\")\nforbid(principal, action, resource) when { false };\n");
        await page.GetByRole(AriaRole.Button, new() { Name = "Validate" }).ClickAsync();
        await Expect(page.GetByTestId("draft-valid")).ToContainTextAsync("validated-" + run);
        await Expect(page.GetByTestId("success")).ToContainTextAsync("Nothing was published");
        await Expect(page.GetByTestId("draft-error")).ToHaveCountAsync(0);
        await Expect(versions).ToHaveCountAsync(before);
        await ConsoleSilo.ScreenshotAsync(page, "policies-validated");
        await page.GetByRole(AriaRole.Button, new() { Name = "Publish" }).ClickAsync();
        await Expect(page.GetByTestId("success")).ToContainTextAsync("Published policy version");
        await Expect(versions).ToHaveCountAsync(before + 1);
        await Expect(page.GetByTestId("diff")).ToContainTextAsync("+ @id(\"validated-" + run + "\")");
    }

    [Fact]
    public async Task PublishADraftWithAnError_SeeItInlineAtItsLine_FixIt_AndPublish()
    {
        var run = Guid.NewGuid().ToString("N")[..10];
        var page = await silo.PageAsync();
        await ConsoleSilo.SignInAsync(page, $"pat-{run}@test.dev", "policy-author");
        await page.GetByRole(AriaRole.Link, new() { Name = "Policies" }).ClickAsync();
        var draft = page.GetByLabel("Cedar policy text");
        var active = await draft.InputValueAsync();
        Assert.Contains("permit", active, StringComparison.Ordinal);
        var lines = active.Replace("\r\n", "\n", StringComparison.Ordinal).Split('\n').Length;

        // A policy missing its closing parenthesis and semicolon, after the active text.
        await draft.FillAsync(active + "\n// console test " + run + "\npermit(principal, action, resource\n");
        await page.GetByRole(AriaRole.Button, new() { Name = "Publish" }).ClickAsync();
        await Expect(page.GetByTestId("draft-error")).ToContainTextAsync("PolicyInvalid");
        var marked = page.GetByTestId("error-line");
        await Expect(marked).ToBeVisibleAsync();
        var line = int.Parse((await marked.GetAttributeAsync("data-line"))!, System.Globalization.CultureInfo.InvariantCulture);
        Assert.True(line > lines, $"the error is marked at line {line}, in the added policy (the active text has {lines} lines)");
        await Expect(draft).ToHaveAttributeAsync("aria-invalid", "true");
        // The refused draft is kept for fixing.
        Assert.Contains("console test " + run, await draft.InputValueAsync(), StringComparison.Ordinal);
        await ConsoleSilo.ScreenshotAsync(page, "policies-error");

        await draft.FillAsync(active + "\n// console test " + run + "\n");
        await page.GetByRole(AriaRole.Button, new() { Name = "Publish" }).ClickAsync();
        await Expect(page.GetByTestId("success")).ToContainTextAsync("Published policy version");
        // The diff of the new version against the one before shows the added line.
        await Expect(page.GetByTestId("diff")).ToContainTextAsync("+ // console test " + run);
        await ConsoleSilo.ScreenshotAsync(page, "policies-published");
    }
}
