using GrantSilo.Hosting;
using GrantSilo.Persistence.AzureTables.Storage;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Orleans.Clustering.AzureStorage;
using Orleans.Configuration;
using Orleans.Hosting;
using Orleans.Providers;
using Orleans.Reminders.AzureStorage;
using Orleans.Storage;

namespace GrantSilo.Persistence.AzureTables.Tests.Unit;

public sealed class RegistrationTests
{
    private const string ConnectionString = "DefaultEndpointsProtocol=https;AccountName=grantsiloprod;AccountKey=c2VjcmV0;EndpointSuffix=core.windows.net";

    private static IHost BuildSilo(Dictionary<string, string?> settings, Action<ISiloBuilder, IConfiguration>? configure = null)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { EnvironmentName = "Production", DisableDefaults = true });
        builder.Configuration.AddInMemoryCollection(settings);
        builder.UseOrleans(silo =>
        {
            var section = builder.Configuration.GetSection(AzureTableGrantConfiguration.SectionName);
            if (configure is null)
            {
                silo.UseGrantSiloAzureTables(section, ["grants"]);
            }
            else
            {
                configure(silo, section);
            }
        });
        return builder.Build();
    }

    [Fact]
    public void Profile_RegistersMicrosoftsProvidersWithGrantSilosKeys()
    {
        using var host = BuildSilo(new()
        {
            ["GrantSilo:Storage:ConnectionString"] = ConnectionString,
            ["GrantSilo:Storage:GrainState:TableName"] = "Grants",
            ["GrantSilo:Storage:Reminders:TableName"] = "GrantReminders",
            ["GrantSilo:Storage:Membership:TableName"] = "GrantMembers",
        });

        var services = host.Services;
        foreach (var name in new[] { "grants", ProviderConstants.DEFAULT_STORAGE_PROVIDER_NAME })
        {
            var storageOptions = services.GetRequiredService<IOptionsMonitor<AzureTableStorageOptions>>().Get(name);
            Assert.Equal("Grants", storageOptions.TableName);
            Assert.False(storageOptions.DeleteStateOnClear);
            Assert.False(storageOptions.UseStringFormat);
            Assert.IsType<OrleansGrainStorageSerializer>(storageOptions.GrainStorageSerializer);
            Assert.Equal("grantsiloprod", storageOptions.TableServiceClient!.AccountName);
            Assert.IsType<GuardedGrainStorage>(services.GetRequiredKeyedService<IGrainStorage>(name));
        }
        Assert.IsType<GuardedGrainStorage>(services.GetRequiredService<IGrainStorage>());
        Assert.Equal("GrantReminders", services.GetRequiredService<IOptions<AzureTableReminderStorageOptions>>().Value.TableName);
        Assert.Equal("GrantMembers", services.GetRequiredService<IOptions<AzureStorageClusteringOptions>>().Value.TableName);
        Assert.Equal("AzureBasedMembershipTable", services.GetRequiredService<IMembershipTable>().GetType().Name);
        Assert.Equal("AzureBasedReminderTable", services.GetRequiredService<IReminderTable>().GetType().Name);
        // The guard starts the provider it wraps: the provider creates its table at silo start.
        Assert.Contains(services.GetServices<ILifecycleParticipant<ISiloLifecycle>>(), p => p is GuardedGrainStorage);
    }

    [Fact]
    public void Profile_DefaultTables_AreMicrosofts()
    {
        using var host = BuildSilo(new() { ["GrantSilo:Storage:ConnectionString"] = ConnectionString });

        Assert.Equal("OrleansGrainState", host.Services.GetRequiredService<IOptionsMonitor<AzureTableStorageOptions>>().Get("grants").TableName);
        Assert.Equal("OrleansReminders", host.Services.GetRequiredService<IOptions<AzureTableReminderStorageOptions>>().Value.TableName);
        Assert.Equal("OrleansSiloInstances", host.Services.GetRequiredService<IOptions<AzureStorageClusteringOptions>>().Value.TableName);
    }

    [Theory]
    [InlineData("GrantSilo:Storage:ServiceIdPrefix", "GrantSilo:Silo:ServiceId")]
    [InlineData("GrantSilo:Storage:GrainState:DeleteStateOnClear", "tombstone")]
    [InlineData("GrantSilo:Storage:Membership:GatewayListRefreshPeriod", "GatewayListRefreshPeriod")]
    [InlineData("GrantSilo:Storage:CreateTableIfNotExists", "always create")]
    public void Profile_RetiredKey_IsRefusedSayingWhatReplacesIt(string key, string replacement)
    {
        var error = Assert.Throws<OptionsValidationException>(() => BuildSilo(new() { ["GrantSilo:Storage:ConnectionString"] = ConnectionString, [key] = "x" }).Dispose());

        Assert.Contains(key, error.Message, StringComparison.Ordinal);
        Assert.Contains(replacement, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SiloStart_WithoutConnection_FailsWithAMessageSayingHowToFixIt()
    {
        using var host = BuildSilo([]);

        var error = await Assert.ThrowsAnyAsync<Exception>(() => host.StartAsync());

        Assert.Contains("No Azure Table connection for the AzureTable profile: set GrantSilo:Storage:ConnectionString", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SiloStart_WithDevelopmentAccountInProduction_IsRefused()
    {
        using var host = BuildSilo(new() { ["GrantSilo:Storage:ConnectionString"] = "UseDevelopmentStorage=true" });

        var error = await Assert.ThrowsAnyAsync<Exception>(() => host.StartAsync());

        Assert.Contains("AllowDevelopmentStorage=true", error.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void ClientExtension_UsesMicrosoftsGatewayList()
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.UseOrleansClient(client => client.UseAzureTableGrantClustering(new AzureTableGrantOptions { ConnectionString = ConnectionString, MembershipTableName = "GrantMembers" }));
        using var host = builder.Build();

        Assert.Equal("AzureGatewayListProvider", host.Services.GetRequiredService<Orleans.Messaging.IGatewayListProvider>().GetType().Name);
        Assert.Equal("GrantMembers", host.Services.GetRequiredService<IOptions<AzureStorageGatewayOptions>>().Value.TableName);
    }
}
