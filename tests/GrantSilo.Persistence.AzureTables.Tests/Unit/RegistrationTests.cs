using GrantSilo.Hosting;
using GrantSilo.Persistence.AzureTables.Clustering;
using GrantSilo.Persistence.AzureTables.Reminders;
using GrantSilo.Persistence.AzureTables.Storage;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Orleans.Hosting;
using Orleans.Storage;

namespace GrantSilo.Persistence.AzureTables.Tests.Unit;

public sealed class RegistrationTests
{
    private const string ConnectionString = "DefaultEndpointsProtocol=https;AccountName=grantsiloprod;AccountKey=c2VjcmV0;EndpointSuffix=core.windows.net";

    private static IHost BuildSilo(Dictionary<string, string?> settings, Action<ISiloBuilder, IConfiguration> configure)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { EnvironmentName = "Production", DisableDefaults = true });
        builder.Configuration.AddInMemoryCollection(settings);
        builder.UseOrleans(silo => configure(silo, builder.Configuration.GetSection(AzureTableGrantConfiguration.SectionName)));
        return builder.Build();
    }

    [Fact]
    public void SiloExtensions_BindGrantSiloStorageSectionAndRegisterTheProviders()
    {
        using var host = BuildSilo(
            new()
            {
                ["GrantSilo:Storage:ConnectionString"] = ConnectionString,
                ["GrantSilo:Storage:ServiceIdPrefix"] = "deployment-a",
                ["GrantSilo:Storage:GrainState:TableName"] = "Grants",
                ["GrantSilo:Storage:Reminders:TableName"] = "GrantReminders",
                ["GrantSilo:Storage:Membership:TableName"] = "GrantMembers",
            },
            (silo, section) => silo
                .UseAzureTableGrantClustering(section)
                .AddAzureTableGrantStorage("grants", section)
                .AddAzureTableGrantStorageAsDefault(section)
                .UseAzureTableGrantReminders(section));

        var services = host.Services;
        var storageOptions = services.GetRequiredService<IOptionsMonitor<AzureTableGrainStorageOptions>>().Get("grants");
        Assert.Equal(ConnectionString, storageOptions.ConnectionString);
        Assert.Equal("deployment-a", storageOptions.ServiceIdPrefix);
        Assert.Equal("Grants", storageOptions.TableName);
        Assert.NotNull(storageOptions.GrainStorageSerializer);
        Assert.Equal("GrantReminders", services.GetRequiredService<IOptions<AzureTableReminderOptions>>().Value.TableName);
        Assert.Equal("GrantMembers", services.GetRequiredService<IOptions<AzureTableClusteringOptions>>().Value.TableName);
        Assert.IsType<AzureTableGrainStorage>(services.GetRequiredKeyedService<IGrainStorage>("grants"));
        Assert.IsType<AzureTableGrainStorage>(services.GetRequiredService<IGrainStorage>());
        Assert.IsType<AzureTableMembershipTable>(services.GetRequiredService<IMembershipTable>());
        Assert.IsType<AzureTableReminderTable>(services.GetRequiredService<IReminderTable>());
        Assert.Contains(services.GetServices<ILifecycleParticipant<ISiloLifecycle>>(), p => p is AzureTableGrainStorage);
    }

    [Fact]
    public async Task SiloStart_WithoutConnection_FailsWithAMessageSayingHowToFixIt()
    {
        using var host = BuildSilo([], (silo, section) => silo.UseLocalhostClustering().AddAzureTableGrantStorage("grants", section));

        var error = await Assert.ThrowsAnyAsync<Exception>(() => host.StartAsync());

        Assert.Contains("No Azure Table connection for the grain storage 'grants': set GrantSilo:Storage:ConnectionString", error.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task SiloStart_WithDevelopmentAccountInProduction_IsRefused()
    {
        var settings = new Dictionary<string, string?> { ["GrantSilo:Storage:ConnectionString"] = "UseDevelopmentStorage=true" };
        using var host = BuildSilo(settings, (silo, section) => silo.UseLocalhostClustering().UseAzureTableGrantReminders(section));

        var error = await Assert.ThrowsAnyAsync<Exception>(() => host.StartAsync());

        Assert.Contains("AllowDevelopmentStorage=true", error.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void ClientExtension_RegistersTheGatewayList()
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.UseOrleansClient(client => client.UseAzureTableGrantClustering(o => o.ConnectionString = ConnectionString));
        using var host = builder.Build();

        Assert.IsType<AzureTableGatewayListProvider>(host.Services.GetRequiredService<Orleans.Messaging.IGatewayListProvider>());
    }
}
