using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Reflection;
using System.Text;
using System.Text.Json;
using GrantSilo.EndToEnd.Tests.Support;
using Microsoft.Playwright;

namespace GrantSilo.WebConsole.Tests;

/// <summary>
/// A real <c>silo-host</c> process on loopback (the embedded default with the HTTP API and the console, the development
/// issuer active for the console's sign-in page, and the test issuers trusted for the parties the tests play), and one
/// Debian Chromium driven by Playwright, shared by the console tests; each test gets its own browser context.
/// </summary>
public sealed class ConsoleSilo : IAsyncLifetime, IApiDoor
{
    /// <summary>Debian's Chromium binary (the <c>/usr/bin/chromium</c> wrapper adds noise); <c>GRANTSILO_CHROMIUM</c> overrides it.</summary>
    public static string ChromiumPath => Environment.GetEnvironmentVariable("GRANTSILO_CHROMIUM") is { Length: > 0 } path ? path : "/usr/lib/chromium/chromium";

    private ChildProcess? _silo;
    private IPlaywright? _playwright;
    private string? _keyDirectory;

    public HttpClient Http { get; } = new() { Timeout = TimeSpan.FromSeconds(60) };

    public IBrowser Browser { get; private set; } = null!;

    public string BaseUrl { get; private set; } = "";

    public TestIdentity Identity => TestIdentity.Shared;

    public string Output => _silo?.Output ?? "";

    /// <summary>The organisation's OpenID Connect provider the console signs people in at (not the development issuer).</summary>
    public TestOidcProvider Oidc { get; private set; } = null!;

    /// <summary>Where screenshots go: beside the test results (<c>GRANTSILO_TEST_ARTIFACTS</c> overrides it).</summary>
    public static string Artifacts { get; } = Environment.GetEnvironmentVariable("GRANTSILO_TEST_ARTIFACTS") is { Length: > 0 } artifacts
        ? artifacts
        : Path.Combine(typeof(ConsoleSilo).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == "TestResults").Value!, "console-screenshots");

    public async Task InitializeAsync()
    {
        // The test machine's cores are shared: expectations wait up to 30 s (they pass as soon as they hold).
        Assertions.SetDefaultExpectTimeout(30_000);
        // The browser first: when it cannot start, say why at once instead of after the silo's start-up.
        Browser = await LaunchAsync();

        var (siloPort, gatewayPort, httpPort) = (Ports.Free(), Ports.Free(), Ports.Free());
        _keyDirectory = Directory.CreateTempSubdirectory("grantsilo-console-test-").FullName;
        Oidc = await TestOidcProvider.StartAsync(_keyDirectory);
        var identity = Identity.SiloEnvironment();
        var issuers = identity.Keys.Count(k => k.StartsWith("GrantSilo__Identity__Issuers__", StringComparison.Ordinal) && k.EndsWith("__Name", StringComparison.Ordinal));
        // Two issuers of people, so each names the people it vouches for: the test issuer's are at test.dev.
        var testPeople = identity.Single(k => k.Key.EndsWith("__Name", StringComparison.Ordinal) && k.Value == "test-people").Key[..^"__Name".Length];
        var environment = new Dictionary<string, string>(identity.Concat(Oidc.SiloEnvironment(issuers)))
        {
            [testPeople + "__Names__0"] = "person:*@test.dev",
            ["ASPNETCORE_ENVIRONMENT"] = "Development",
            ["GrantSilo__Identity__Development__Enabled"] = "true",
            ["GrantSilo__Identity__Development__KeyFile"] = Path.Combine(_keyDirectory, "dev-issuer.jwk"),
            ["GrantSilo__Silo__SiloPort"] = siloPort.ToString(CultureInfo.InvariantCulture),
            ["GrantSilo__Silo__GatewayPort"] = gatewayPort.ToString(CultureInfo.InvariantCulture),
            ["GrantSilo__Http__Port"] = httpPort.ToString(CultureInfo.InvariantCulture),
            ["Logging__LogLevel__GrantSilo"] = "Information",
        };
        _silo = ChildProcess.Start("console-silo", ChildProcess.BuiltDll("SiloHostDll"), environment);
        await _silo.WaitForOutputAsync("GrantSilo silo started", TimeSpan.FromSeconds(120));
        BaseUrl = $"http://127.0.0.1:{httpPort}";
        Http.BaseAddress = new Uri(BaseUrl);
        await Eventually.HoldsAsync(async () => (await Http.GetAsync(new Uri("/health/ready", UriKind.Relative))).StatusCode == HttpStatusCode.OK, TimeSpan.FromSeconds(60), "the HTTP API answering ready");
        // Every resource known as public, so the tests' own classifications stand (docs/resource-catalog.md).
        var published = await Eventually.LastAsync(
            () => SendAsync(HttpMethod.Post, "/v1/resource-catalog", Operator(), new { text = TestCatalogs.Permissive }),
            response => response.Status != HttpStatusCode.ServiceUnavailable, TimeSpan.FromSeconds(30));
        Assert.Equal(HttpStatusCode.Created, published.Status);
    }

    private async Task<IBrowser> LaunchAsync()
    {
        (_playwright, var browser) = await LaunchChromiumAsync();
        return browser;
    }

    /// <summary>Starts Playwright and Debian's Chromium (headless, loopback only), or fails saying how to install it.</summary>
    public static async Task<(IPlaywright Playwright, IBrowser Browser)> LaunchChromiumAsync()
    {
        if (!File.Exists(ChromiumPath))
        {
            throw new InvalidOperationException(
                $"Chromium is not installed at {ChromiumPath}: the console tests drive Debian's chromium. Install it with " +
                "'apt-get install -y --no-install-recommends chromium fonts-liberation' (.ci/run does), or set GRANTSILO_CHROMIUM to a Chromium binary.");
        }
        var playwright = await Playwright.CreateAsync();
        try
        {
            return (playwright, await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
            {
                ExecutablePath = ChromiumPath,
                Headless = true,
                // Nothing but loopback: Chromium must not reach outside hosts.
                Args = ["--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1", "--disable-features=AutofillServerCommunication"],
            }));
        }
        catch (PlaywrightException e)
        {
            playwright.Dispose();
            throw new InvalidOperationException($"Playwright could not start Chromium at {ChromiumPath}: {e.Message}", e);
        }
    }

    public async Task DisposeAsync()
    {
        if (Browser is not null)
        {
            await Browser.CloseAsync();
        }
        _playwright?.Dispose();
        if (Oidc is not null)
        {
            await Oidc.DisposeAsync();
        }
        if (_silo is not null)
        {
            await _silo.StopAsync(TimeSpan.FromSeconds(30));
            // The silo's log beside the screenshots, for whoever reviews a failure (it never holds a token).
            Directory.CreateDirectory(Artifacts);
            await File.WriteAllTextAsync(Path.Combine(Artifacts, "silo-host.log"), _silo.Output);
            await _silo.DisposeAsync();
        }
        if (_keyDirectory is not null)
        {
            Directory.Delete(_keyDirectory, recursive: true);
        }
        Http.Dispose();
    }

    /// <summary>A new browser context and page at 1280x800 (or <paramref name="width"/> wide).</summary>
    public async Task<IPage> PageAsync(int width = 1280, int height = 800)
    {
        var context = await Browser.NewContextAsync(new BrowserNewContextOptions { BaseURL = BaseUrl, ViewportSize = new ViewportSize { Width = width, Height = height } });
        context.SetDefaultTimeout(30_000);
        return await context.NewPageAsync();
    }

    /// <summary>Signs in at the development sign-in page as <paramref name="person"/> with <paramref name="roles"/>.</summary>
    public static async Task SignInAsync(IPage page, string person, params string[] roles)
    {
        await page.GotoAsync("/console");
        await Assertions.Expect(page).ToHaveURLAsync(new System.Text.RegularExpressions.Regex("/console/sign-in"));
        await page.GetByLabel("Person").FillAsync(person);
        foreach (var role in roles)
        {
            await page.GetByRole(AriaRole.Checkbox, new() { Name = role, Exact = true }).CheckAsync();
        }
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
        await Assertions.Expect(page.GetByTestId("signed-in-as")).ToHaveTextAsync($"person:{person}");
    }

    /// <summary>Keeps a full-page screenshot for review.</summary>
    public static async Task ScreenshotAsync(IPage page, string name)
    {
        Directory.CreateDirectory(Artifacts);
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(Artifacts, name + ".png"), FullPage = true });
    }

    /// <summary>A fresh operator's token.</summary>
    public string Operator() => Identity.PersonToken($"ops-{Guid.NewGuid():N}@test.dev", "operator");

    /// <summary>Sends <paramref name="body"/> as JSON as <paramref name="token"/>'s caller.</summary>
    public Task<Answer> SendAsync(HttpMethod method, string path, string? token, object? body = null) => SendAsync(Http, method, path, token, body);

    /// <summary>Sends <paramref name="body"/> as JSON on <paramref name="http"/> as <paramref name="token"/>'s caller.</summary>
    internal static async Task<Answer> SendAsync(HttpClient http, HttpMethod method, string path, string? token, object? body)
    {
        using var request = new HttpRequestMessage(method, new Uri(path, UriKind.Relative));
        if (token is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }
        if (body is not null)
        {
            request.Content = new StringContent(JsonSerializer.Serialize(body, JsonSerializerOptions.Web), Encoding.UTF8, "application/json");
        }
        using var response = await http.SendAsync(request);
        return new Answer(response.StatusCode, await response.Content.ReadAsStringAsync());
    }
}

/// <summary>An HTTP answer, its body kept as text.</summary>
public sealed record Answer(HttpStatusCode Status, string Text)
{
    public JsonElement Json => JsonDocument.Parse(Text).RootElement;

    public string? this[string name] => Json.TryGetProperty(name, out var value) ? (value.ValueKind == JsonValueKind.String ? value.GetString() : value.GetRawText()) : null;

    public override string ToString() => $"{(int)Status} {Text}";
}

[CollectionDefinition(Name)]
public sealed class ConsoleSiloCollection : ICollectionFixture<ConsoleSilo>
{
    public const string Name = "console-silo";
}
