using GrantSilo.Testing;
using GrantSilo.Hosting;
using System.Globalization;
using GrantSilo.Client;
using GrantSilo.EndToEnd.Tests.Support;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace GrantSilo.EndToEnd.Tests;

/// <summary>The silo host process selects its backend from configuration; the embedded default is unchanged.</summary>
public sealed class SiloHostConfigurationTests
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(90);

    [Fact]
    public async Task EmbeddedDefault_StartsWithoutStorageSettings_AndServesTheDefaultClient()
    {
        var (siloPort, gatewayPort) = (Ports.Free(), Ports.Free());
        await using var silo = ChildProcess.Start("embedded", ChildProcess.BuiltDll("SiloHostDll"), new Dictionary<string, string>
        {
            ["GrantSilo__Silo__SiloPort"] = siloPort.ToString(CultureInfo.InvariantCulture),
            ["GrantSilo__Silo__GatewayPort"] = gatewayPort.ToString(CultureInfo.InvariantCulture),
        });
        await silo.WaitForOutputAsync("GrantSilo silo started", Deadline);
        Assert.Contains("storage Embedded", silo.Output, StringComparison.Ordinal);

        // AddGrantSiloClient with no storage settings connects to the silo on this machine.
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?> { ["GrantSilo:Client:GatewayPort"] = gatewayPort.ToString(CultureInfo.InvariantCulture) });
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.AddGrantSiloClient();
        using var client = builder.Build();
        await client.StartAsync();
        var grants = new Scenario(client.Services.GetRequiredService<GrantClient>(), settling: TimeSpan.FromSeconds(60));
        await TestCatalogs.PublishPermissiveAsync(grants.Client, TimeSpan.FromSeconds(60));
        var agent = await grants.AgentAsync("worker", Scenario.Scope(0, "repo:read:acme/*"));
        var task = await grants.RootTaskAsync(agent, Scenario.Scope(0, "repo:read:acme/*"), TimeSpan.FromMinutes(5));
        var credential = await grants.IssueAsync(agent, task.TaskId);
        Assert.True((await grants.AuthorizeAsync(credential)).IsAllowed);
        await client.StopAsync();
        await silo.StopAsync(TimeSpan.FromSeconds(30));
    }

    [Fact]
    public async Task AzureTableProfile_RefusesAzuritesPublicKeyOutsideDevelopment_UnlessAllowed()
    {
        var settings = new Dictionary<string, string>(MultiSiloSettings.Silo($"DefaultEndpointsProtocol=http;AccountName={Testing.Azurite.AzuriteProcess.AccountName};AccountKey={Testing.Azurite.AzuriteProcess.AccountKey};TableEndpoint=http://127.0.0.1:9/{Testing.Azurite.AzuriteProcess.AccountName};", Ports.Free(), Ports.Free()));
        settings.Remove("GrantSilo__Storage__AllowDevelopmentStorage");
        await using var silo = ChildProcess.Start("production", ChildProcess.BuiltDll("SiloHostDll"), settings);

        Assert.True(await silo.WaitForExitAsync(Deadline), "The silo started with the development account in production.");
        Assert.NotEqual(0, silo.ExitCode);
        Assert.Contains("GrantSilo:Storage:AllowDevelopmentStorage=true", silo.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AzureTableProfile_RefusesADecisionLeaseTheSiloLeaseCannotCover_NamingTheKeys()
    {
        // The one-machine membership settings give a 1 s silo lease: a decision lease may be at most 25 s.
        var settings = new Dictionary<string, string>(MultiSiloSettings.Silo($"DefaultEndpointsProtocol=http;AccountName={Testing.Azurite.AzuriteProcess.AccountName};AccountKey={Testing.Azurite.AzuriteProcess.AccountKey};TableEndpoint=http://127.0.0.1:9/{Testing.Azurite.AzuriteProcess.AccountName};", Ports.Free(), Ports.Free()))
        {
            ["GrantSilo__Lifecycle__DecisionLeaseDuration"] = "00:00:29",
        };
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
        Assert.NotEqual(0, silo.ExitCode);
        Assert.Contains("'Embedded'", silo.Output, StringComparison.Ordinal);
        Assert.Contains("'AzureTable'", silo.Output, StringComparison.Ordinal);
    }
}
