using GrantSilo.Testing;
using GrantSilo.Hosting;
using System.Globalization;
using GrantSilo.Client;
using GrantSilo.EndToEnd.Tests.Support;
using GrantSilo.Identity;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace GrantSilo.EndToEnd.Tests;

/// <summary>
/// The silo host process selects its backend from configuration; the embedded default runs in Development with the
/// development issuer (as <c>scripts/demo.sh</c> starts it) and refuses to start trusting no issuer anywhere else.
/// </summary>
public sealed class SiloHostConfigurationTests
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(90);

    [Fact]
    public async Task EmbeddedDefault_InDevelopment_StartsWithTheDevelopmentIssuer_AndServesTheDefaultClientCallingWithItsTokens()
    {
        var (siloPort, gatewayPort, httpPort) = (Ports.Free(), Ports.Free(), Ports.Free());
        var keyFolder = Directory.CreateTempSubdirectory("grantsilo-dev-issuer-");
        var keyFile = Path.Combine(keyFolder.FullName, "dev-issuer.jwk");
        try
        {
            // Only what the demo sets: the environment (appsettings.Development.json enables the development issuer),
            // and here the ports and where the key file goes, so a demo running beside the tests keeps its own.
            await using var silo = ChildProcess.Start("embedded", ChildProcess.BuiltDll("SiloHostDll"), new Dictionary<string, string>
            {
                ["DOTNET_ENVIRONMENT"] = "Development",
                ["GrantSilo__Silo__SiloPort"] = siloPort.ToString(CultureInfo.InvariantCulture),
                ["GrantSilo__Silo__GatewayPort"] = gatewayPort.ToString(CultureInfo.InvariantCulture),
                ["GrantSilo__Identity__Development__KeyFile"] = keyFile,
                ["GrantSilo__Http__Port"] = httpPort.ToString(CultureInfo.InvariantCulture),
            });
            await silo.WaitForOutputAsync("GrantSilo silo ready", Deadline);
            Assert.Contains("storage Embedded", silo.Output, StringComparison.Ordinal);
            Assert.Contains("A DEVELOPMENT issuer is active", silo.Output, StringComparison.Ordinal);
            if (!OperatingSystem.IsWindows())
            {
                Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(keyFile));
            }
            using var tokens = DevelopmentTokens.Load(keyFile);

            // AddGrantSiloClient with no storage settings connects to the silo on this machine.
            var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
            builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?> { ["GrantSilo:Client:GatewayPort"] = gatewayPort.ToString(CultureInfo.InvariantCulture) });
            builder.Logging.SetMinimumLevel(LogLevel.Warning);
            builder.AddGrantSiloClient();
            using var client = builder.Build();
            await client.StartAsync();
            var connection = client.Services.GetRequiredService<GrantClient>();
            GrantClient As(string token) => connection.As(new StaticCallerToken(token));
            var operatorClient = As(tokens.ForPerson("ops@test.dev", "operator"));
            var agent = $"spiffe://test.dev/{Guid.NewGuid():N}/worker";

            // Without a token nothing is served; with the development issuer's, each caller does its part.
            var anonymous = await Scenario.Retry(() => connection.GetAgentAsync(agent));
            Assert.Equal(GrantErrorCode.Unauthenticated, anonymous.Error?.Code);
            var published = await Scenario.Retry(() => operatorClient.PublishResourceCatalogAsync(TestCatalogs.Permissive, "person:ops@test.dev"));
            Assert.True(published.IsSuccess, published.Error?.ToString());
            var registered = await operatorClient.RegisterAgentAsync(agent, new AgentRegistration { Owner = "person:ops@test.dev", Ceiling = Scenario.Scope(0, "repo:read:acme/*") });
            Assert.True(registered.IsSuccess, registered.Error?.ToString());
            var task = await As(tokens.ForService("orchestrator", "orchestrator")).CreateTaskAsync(new CreateTaskRequest
            {
                Person = "person:alice@test.dev",
                Agent = agent,
                Scope = Scenario.Scope(0, "repo:read:acme/*"),
                Lifetime = TimeSpan.FromMinutes(5),
            });
            Assert.True(task.IsSuccess, task.Error?.ToString());
            var itself = As(tokens.ForAgent(agent));
            var session = await itself.OpenSessionAsync(new OpenSessionRequest { Agent = agent });
            Assert.True(session.IsSuccess, session.Error?.ToString());
            var credential = await itself.IssueCredentialAsync(session.Value.SessionId, new IssueCredentialRequest { TaskId = task.Value.TaskId });
            Assert.True(credential.IsSuccess, credential.Error?.ToString());
            Assert.True((await As(tokens.ForService("gateway", "gateway")).AuthorizeAsync(credential.Value.Token, "read", Scenario.Document)).IsAllowed);
            // Another agent's token does not open this agent's sessions.
            var impostor = await As(tokens.ForAgent($"spiffe://test.dev/{Guid.NewGuid():N}/impostor")).OpenSessionAsync(new OpenSessionRequest { Agent = agent });
            Assert.Equal(GrantErrorCode.Forbidden, impostor.Error?.Code);

            // grantctl logs in with the development issuer's key, and calls the HTTP API as the person it names.
            using var grantctl = new Grantctl();
            var login = await grantctl.RunAsync(null, "login", "--development", "--key-file", keyFile, "--as", "person:ops@test.dev", "--roles", "operator", "--url", $"http://127.0.0.1:{httpPort}");
            Assert.True(login.Exit == 0, login.ToString());
            var shown = await grantctl.RunAsync(null, "agents", "get", agent, "--json");
            Assert.True(shown.Exit == 0, shown.ToString());
            Assert.Equal(agent, System.Text.Json.JsonDocument.Parse(shown.Output).RootElement.GetProperty("workloadId").GetString());
            // Its roles are the ones it asked for: a person without the operator role may not list cascades.
            var nobody = await grantctl.RunAsync(null, "login", "--development", "--key-file", keyFile, "--as", "person:nobody@test.dev", "--url", $"http://127.0.0.1:{httpPort}");
            Assert.True(nobody.Exit == 0, nobody.ToString());
            Assert.Equal(4, (await grantctl.RunAsync(null, "cascades")).Exit);
            await client.StopAsync();
            await silo.StopAsync(TimeSpan.FromSeconds(30));
        }
        finally
        {
            keyFolder.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task Probe_ExitsZeroOnlyWhileTheSiloAnswersItsHealthEndpoint()
    {
        // The container health check: `dotnet GrantSilo.SiloHost.dll --probe ready`, with the silo's own settings.
        var (siloPort, gatewayPort, httpPort) = (Ports.Free(), Ports.Free(), Ports.Free());
        var keyFolder = Directory.CreateTempSubdirectory("grantsilo-probe-");
        var settings = new Dictionary<string, string>
        {
            ["DOTNET_ENVIRONMENT"] = "Development",
            ["GrantSilo__Silo__SiloPort"] = siloPort.ToString(CultureInfo.InvariantCulture),
            ["GrantSilo__Silo__GatewayPort"] = gatewayPort.ToString(CultureInfo.InvariantCulture),
            ["GrantSilo__Http__Port"] = httpPort.ToString(CultureInfo.InvariantCulture),
            ["GrantSilo__Identity__Development__KeyFile"] = Path.Combine(keyFolder.FullName, "dev-issuer.jwk"),
        };
        async Task<(int Code, string Output)> ProbeAsync(string which, IReadOnlyDictionary<string, string> environment)
        {
            await using var probe = ChildProcess.Start($"probe-{which}", ChildProcess.BuiltDll("SiloHostDll"), environment, "--probe", which);
            Assert.True(await probe.WaitForExitAsync(TimeSpan.FromSeconds(30)), $"The probe did not finish: {probe.Output}");
            return (probe.ExitCode, probe.Output);
        }
        try
        {
            var before = await ProbeAsync("ready", settings);
            Assert.Equal(1, before.Code);
            Assert.Contains("/health/ready: no answer", before.Output, StringComparison.Ordinal);

            await using var silo = ChildProcess.Start("probed", ChildProcess.BuiltDll("SiloHostDll"), settings);
            await silo.WaitForOutputAsync("GrantSilo silo ready", Deadline);
            var ready = await ProbeAsync("ready", settings);
            Assert.True(ready.Code == 0, ready.Output);
            Assert.Contains("/health/ready: 200", ready.Output, StringComparison.Ordinal);
            Assert.Equal(0, (await ProbeAsync("live", settings)).Code);
            // Another port answers nothing; an unknown probe is a usage error.
            var elsewhere = new Dictionary<string, string>(settings) { ["GrantSilo__Http__Port"] = Ports.Free().ToString(CultureInfo.InvariantCulture) };
            Assert.Equal(1, (await ProbeAsync("ready", elsewhere)).Code);
            Assert.Equal(2, (await ProbeAsync("everything", settings)).Code);

            await silo.StopAsync(TimeSpan.FromSeconds(30));
            Assert.Equal(1, (await ProbeAsync("ready", settings)).Code);
        }
        finally
        {
            keyFolder.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task EmbeddedDefault_OutsideDevelopment_WithoutIssuers_StopsStartUpSayingWhatToConfigure()
    {
        // The child gets no DOTNET_ENVIRONMENT: the host's environment is Production, and appsettings.Development.json is not read.
        await using var silo = ChildProcess.Start("no-issuers", ChildProcess.BuiltDll("SiloHostDll"), new Dictionary<string, string>
        {
            ["GrantSilo__Silo__SiloPort"] = Ports.Free().ToString(CultureInfo.InvariantCulture),
            ["GrantSilo__Silo__GatewayPort"] = Ports.Free().ToString(CultureInfo.InvariantCulture),
        });

        Assert.True(await silo.WaitForExitAsync(Deadline), "The silo started trusting no issuer.");
        Assert.NotEqual(0, silo.ExitCode);
        Assert.Contains("GrantSilo:Identity:Issuers", silo.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("GrantSilo silo started", silo.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task DevelopmentIssuer_OutsideDevelopment_StopsStartUp()
    {
        await using var silo = ChildProcess.Start("dev-issuer-in-production", ChildProcess.BuiltDll("SiloHostDll"), new Dictionary<string, string>
        {
            ["DOTNET_ENVIRONMENT"] = "Production",
            ["GrantSilo__Silo__SiloPort"] = Ports.Free().ToString(CultureInfo.InvariantCulture),
            ["GrantSilo__Silo__GatewayPort"] = Ports.Free().ToString(CultureInfo.InvariantCulture),
            ["GrantSilo__Identity__Development__Enabled"] = "true",
            ["GrantSilo__Identity__Development__KeyFile"] = Path.Combine(Path.GetTempPath(), $"grantsilo-refused-{Guid.NewGuid():N}", "dev-issuer.jwk"),
        });

        Assert.True(await silo.WaitForExitAsync(Deadline), "The silo started the development issuer in Production.");
        // A refusal to start (EX_CONFIG) with the sentence saying why, not a crash with a stack trace.
        Assert.Equal(78, silo.ExitCode);
        Assert.Contains("GrantSilo cannot start: The GrantSilo DEVELOPMENT issuer", silo.Output, StringComparison.Ordinal);
        Assert.Contains("not Development", silo.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("Unhandled exception", silo.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("GrantSilo silo started", silo.Output, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("development-key-directory")]
    [InlineData("audit-hash-key")]
    public async Task AKeptKeyAnotherUserCouldSwapOrRead_StopsStartUp_SayingWhatToRun(string exposed)
    {
        if (OperatingSystem.IsWindows())
        {
            return;
        }
        var keyFolder = Directory.CreateTempSubdirectory("grantsilo-exposed-dev-key-");
        var auditFolder = Directory.CreateTempSubdirectory("grantsilo-exposed-audit-");
        var hashKey = Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32));
        string refused;
        if (exposed == "audit-hash-key")
        {
            refused = Path.Combine(auditFolder.FullName, "audit-hash-key");
            File.WriteAllText(refused, hashKey);
            File.SetUnixFileMode(refused, (UnixFileMode)0b110_100_100);
        }
        else
        {
            refused = keyFolder.FullName;
            File.SetUnixFileMode(refused, (UnixFileMode)0b111_111_111);
        }
        try
        {
            await using var silo = ChildProcess.Start("exposed-key", ChildProcess.BuiltDll("SiloHostDll"), new Dictionary<string, string>
            {
                ["DOTNET_ENVIRONMENT"] = "Development",
                ["GrantSilo__Silo__SiloPort"] = Ports.Free().ToString(CultureInfo.InvariantCulture),
                ["GrantSilo__Silo__GatewayPort"] = Ports.Free().ToString(CultureInfo.InvariantCulture),
                ["GrantSilo__Http__Port"] = Ports.Free().ToString(CultureInfo.InvariantCulture),
                ["GrantSilo__Identity__Development__KeyFile"] = Path.Combine(keyFolder.FullName, "dev-issuer.jwk"),
                ["GrantSilo__Audit__File__Directory"] = auditFolder.FullName,
            });

            Assert.True(await silo.WaitForExitAsync(Deadline), "The silo started with a key another user could swap or read.");
            // A refusal to start (EX_CONFIG) with the sentence saying what to run, not a crash; and nothing of the key.
            Assert.Equal(78, silo.ExitCode);
            Assert.Contains("GrantSilo cannot start: ", silo.Output, StringComparison.Ordinal);
            Assert.Contains(exposed == "audit-hash-key" ? $"chmod 600 {refused}" : $"chmod 700 {refused}", silo.Output, StringComparison.Ordinal);
            Assert.DoesNotContain(hashKey, silo.Output, StringComparison.Ordinal);
            Assert.DoesNotContain("Unhandled exception", silo.Output, StringComparison.Ordinal);
            Assert.DoesNotContain("GrantSilo silo started", silo.Output, StringComparison.Ordinal);
        }
        finally
        {
            keyFolder.Delete(recursive: true);
            auditFolder.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task AzureTableProfile_RefusesAzuritesPublicKeyOutsideDevelopment_UnlessAllowed()
    {
        var settings = MultiSiloWithoutStorage();
        settings.Remove("GrantSilo__Storage__AllowDevelopmentStorage");
        await using var silo = ChildProcess.Start("production", ChildProcess.BuiltDll("SiloHostDll"), settings);

        Assert.True(await silo.WaitForExitAsync(Deadline), "The silo started with the development account in production.");
        Assert.NotEqual(0, silo.ExitCode);
        Assert.Contains("GrantSilo:Storage:AllowDevelopmentStorage=true", silo.Output, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("GrantSilo__Keys__KeyEncryptionKeyFile")]
    [InlineData("GrantSilo__Keys__KeyEncryptionKey")]
    public async Task AzureTableProfile_WithoutAKeyEncryptionKey_StopsStartUp_NamingTheSetting(string blank)
    {
        // Without one it would start and stay closed: no credential could ever be issued.
        var settings = MultiSiloWithoutStorage();
        settings.Remove("GrantSilo__Keys__KeyEncryptionKey");
        settings.Remove("GrantSilo__Keys__KeyEncryptionKeyFile");
        // A setting given but empty counts as none.
        settings[blank] = "";
        await using var silo = ChildProcess.Start("no-kek", ChildProcess.BuiltDll("SiloHostDll"), settings);

        Assert.True(await silo.WaitForExitAsync(Deadline), "The multi-silo profile started without a key-encryption key.");
        Assert.Equal(78, silo.ExitCode);
        Assert.Contains("GrantSilo cannot start: The multi-silo (AzureTable) profile needs a key-encryption key: set GrantSilo:Keys:KeyEncryptionKeyFile", silo.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("Unhandled exception", silo.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("GrantSilo silo started", silo.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SiloTls_OutsideDevelopment_WithoutAllowedPeerNames_StopsStartUp_NamingTheSetting()
    {
        // The multi-silo settings without the names: any certificate of the CA could join.
        var settings = MultiSiloWithoutStorage();
        settings.Remove("GrantSilo__Tls__AllowedPeerNames__0");
        await using var silo = ChildProcess.Start("any-peer", ChildProcess.BuiltDll("SiloHostDll"), settings);

        Assert.True(await silo.WaitForExitAsync(Deadline), "The silo started trusting any certificate of its CA as a silo.");
        Assert.Equal(78, silo.ExitCode);
        Assert.Contains("GrantSilo cannot start: GrantSilo:Tls:AllowedPeerNames is empty", silo.Output, StringComparison.Ordinal);
        Assert.Contains("GrantSilo:Tls:AllowAnyPeerName=true", silo.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("Unhandled exception", silo.Output, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("Production", "GrantSilo__Tls__AllowedPeerNames__0", "silo")]
    [InlineData("Production", "GrantSilo__Tls__AllowAnyPeerName", "true")]
    [InlineData("Development", "GrantSilo__Identity__Development__Enabled", "false")]
    public async Task SiloTls_Starts_WithAllowedPeerNames_OrTheExplicitOptOut_OrInDevelopment(string environment, string key, string value)
    {
        // The embedded profile with TLS on (mutual between silos, as the multi-silo profile always is).
        var certificates = Testing.Tls.TestCertificates.Shared;
        var settings = new Dictionary<string, string>(TestIdentity.Shared.SiloEnvironment())
        {
            ["DOTNET_ENVIRONMENT"] = environment,
            ["GrantSilo__Silo__SiloPort"] = Ports.Free().ToString(CultureInfo.InvariantCulture),
            ["GrantSilo__Silo__GatewayPort"] = Ports.Free().ToString(CultureInfo.InvariantCulture),
            ["GrantSilo__Http__Enabled"] = "false",
            ["GrantSilo__Tls__Enabled"] = "true",
            ["GrantSilo__Tls__CertificateFile"] = certificates.SiloCertificate,
            ["GrantSilo__Tls__KeyFile"] = certificates.SiloKey,
            ["GrantSilo__Tls__CaFile"] = certificates.Ca,
            [key] = value,
        };
        await using var silo = ChildProcess.Start("peer-names", ChildProcess.BuiltDll("SiloHostDll"), settings);

        await silo.WaitForOutputAsync("GrantSilo silo started", Deadline);
        Assert.DoesNotContain("AllowedPeerNames is empty", silo.Output, StringComparison.Ordinal);
        await silo.StopAsync(TimeSpan.FromSeconds(30));
    }

    [Fact]
    public async Task AzureTableProfile_RefusesADecisionLeaseTheSiloLeaseCannotCover_NamingTheKeys()
    {
        // The one-machine membership settings give a 1 s silo lease: a decision lease may be at most 25 s.
        var settings = MultiSiloWithoutStorage();
        settings["GrantSilo__Lifecycle__DecisionLeaseDuration"] = "00:00:29";
        await using var silo = ChildProcess.Start("long-decision-lease", ChildProcess.BuiltDll("SiloHostDll"), settings);

        Assert.True(await silo.WaitForExitAsync(Deadline), "The silo started with a decision lease its silo lease cannot cover.");
        Assert.NotEqual(0, silo.ExitCode);
        Assert.Contains("GrantSilo:Lifecycle:DecisionLeaseDuration", silo.Output, StringComparison.Ordinal);
        Assert.Contains("GrantSilo:Lease:Duration", silo.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task UnknownStorageProvider_StopsStartUpSayingWhatToUse()
    {
        await using var silo = ChildProcess.Start("unknown", ChildProcess.BuiltDll("SiloHostDll"), new Dictionary<string, string> { ["GrantSilo__Storage__Provider"] = "Cosmos" });

        Assert.True(await silo.WaitForExitAsync(Deadline));
        Assert.Equal(78, silo.ExitCode);
        Assert.Contains("GrantSilo cannot start:", silo.Output, StringComparison.Ordinal);
        Assert.Contains("'Embedded'", silo.Output, StringComparison.Ordinal);
        Assert.Contains("'AzureTable'", silo.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", silo.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ARequestOverItsTimeout_Is504WithAProblem_AndTheSiloStaysReady()
    {
        // GrantSilo:Http:RequestTimeout bounds a request: this one's body never arrives (the client sent half of it), so
        // only the timeout can end it.
        var httpPort = Ports.Free();
        var settings = new Dictionary<string, string>(TestIdentity.Shared.SiloEnvironment())
        {
            ["GrantSilo__Silo__SiloPort"] = Ports.Free().ToString(CultureInfo.InvariantCulture),
            ["GrantSilo__Silo__GatewayPort"] = Ports.Free().ToString(CultureInfo.InvariantCulture),
            ["GrantSilo__Http__Port"] = httpPort.ToString(CultureInfo.InvariantCulture),
            ["GrantSilo__Http__RequestTimeout"] = "00:00:01",
        };
        await using var silo = ChildProcess.Start("request-timeout", ChildProcess.BuiltDll("SiloHostDll"), settings);
        await silo.WaitForOutputAsync("GrantSilo silo started", Deadline);
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{httpPort}") };
        await Eventually.HoldsAsync(async () => (await http.GetAsync(new Uri("/health/ready", UriKind.Relative))).StatusCode == System.Net.HttpStatusCode.OK, TimeSpan.FromSeconds(30), "the HTTP API answering ready");

        var token = TestIdentity.Shared.ServiceToken($"gateway-{Guid.NewGuid():N}", "gateway");
        using var tcp = new System.Net.Sockets.TcpClient();
        await tcp.ConnectAsync(System.Net.IPAddress.Loopback, httpPort);
        var stream = tcp.GetStream();
        var half = "{\"token\": \"";
        var request = $"POST /v1/authorize HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\nContent-Type: application/json\r\nContent-Length: 200\r\n\r\n{half}";
        await stream.WriteAsync(System.Text.Encoding.ASCII.GetBytes(request));
        using var reader = new StreamReader(stream, System.Text.Encoding.UTF8);
        using var deadline = new CancellationTokenSource(Deadline);
        var status = await reader.ReadLineAsync(deadline.Token);
        Assert.Equal("HTTP/1.1 504 Gateway Timeout", status);
        var rest = new System.Text.StringBuilder();
        var buffer = new char[4096];
        while (!rest.ToString().Contains('}', StringComparison.Ordinal) && await reader.ReadAsync(buffer, deadline.Token) is var read and > 0)
        {
            rest.Append(buffer, 0, read);
        }
        Assert.Contains("application/problem+json", rest.ToString(), StringComparison.Ordinal);
        Assert.Contains("\"status\":504", rest.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain(token, rest.ToString(), StringComparison.Ordinal);
        Assert.Equal(System.Net.HttpStatusCode.OK, (await http.GetAsync(new Uri("/health/ready", UriKind.Relative))).StatusCode);
    }

    [Fact]
    public async Task PlainHttpBeyondLoopback_StopsStartUp_SayingWhatToConfigure()
    {
        // Listening on every address needs HTTPS: without a certificate the silo does not start (exit 78, EX_CONFIG), and
        // says which settings to give, rather than serve plain HTTP beyond loopback or crash.
        await using var silo = ChildProcess.Start("plain-http-any-address", ChildProcess.BuiltDll("SiloHostDll"), new Dictionary<string, string>
        {
            ["DOTNET_ENVIRONMENT"] = "Development",
            ["GrantSilo__Silo__SiloPort"] = Ports.Free().ToString(CultureInfo.InvariantCulture),
            ["GrantSilo__Silo__GatewayPort"] = Ports.Free().ToString(CultureInfo.InvariantCulture),
            ["GrantSilo__Http__Port"] = Ports.Free().ToString(CultureInfo.InvariantCulture),
            ["GrantSilo__Http__ListenOnAnyHostAddress"] = "true",
            ["GrantSilo__Identity__Development__KeyFile"] = Path.Combine(Path.GetTempPath(), $"grantsilo-any-address-{Guid.NewGuid():N}", "dev-issuer.jwk"),
        });

        Assert.True(await silo.WaitForExitAsync(Deadline), "The silo served plain HTTP beyond loopback.");
        Assert.Equal(78, silo.ExitCode);
        Assert.Contains("GrantSilo cannot start:", silo.Output, StringComparison.Ordinal);
        Assert.Contains("ListenOnAnyHostAddress needs HTTPS", silo.Output, StringComparison.Ordinal);
        Assert.Contains("GrantSilo:Tls:Enabled=true", silo.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("GrantSilo silo started", silo.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", silo.Output, StringComparison.Ordinal);
    }

    // The multi-silo (AzureTable) settings and the test identity, with a storage address nothing listens on: for the
    // start-up refusals, which must come before any storage is reached.
    private static Dictionary<string, string> MultiSiloWithoutStorage()
    {
        var settings = new Dictionary<string, string>(MultiSiloSettings.Silo($"DefaultEndpointsProtocol=http;AccountName={Testing.Azurite.AzuriteProcess.AccountName};AccountKey={Testing.Azurite.AzuriteProcess.AccountKey};TableEndpoint=http://127.0.0.1:9/{Testing.Azurite.AzuriteProcess.AccountName};", Ports.Free(), Ports.Free()));
        foreach (var (key, value) in TestIdentity.Shared.SiloEnvironment())
        {
            settings[key] = value;
        }
        return settings;
    }
}
