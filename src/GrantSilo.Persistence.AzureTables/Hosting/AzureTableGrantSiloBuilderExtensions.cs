using GrantSilo.Persistence.AzureTables;
using GrantSilo.Persistence.AzureTables.Storage;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans;
using Orleans.Configuration;
using Orleans.Hosting;
using Orleans.Providers;
using Orleans.Serialization;
using Orleans.Storage;

namespace GrantSilo.Hosting;

/// <summary>
/// Puts a silo on Azure Table Storage with Microsoft's Orleans providers, configured from GrantSilo's keys
/// (<c>GrantSilo:Storage</c>, see <see cref="AzureTableGrantConfiguration"/>):
/// <c>UseAzureStorageClustering</c> (membership), <c>AddAzureTableGrainStorage</c> (grain state, as the default store
/// and under the names given) and <c>UseAzureTableReminderService</c> (reminders). All three share one
/// <c>TableServiceClient</c>.
/// </summary>
public static class AzureTableGrantSiloBuilderExtensions
{
    /// <summary>
    /// Uses Azure Table Storage for membership, reminders and grain state: the default store and each store in
    /// <paramref name="storageNames"/>. Grain state is written with Orleans' binary serializer, clearing state keeps a
    /// tombstone row (so a stale writer still fails on its ETag), and a write whose reply was lost is confirmed by
    /// reading it back.
    /// </summary>
    public static ISiloBuilder UseGrantSiloAzureTables(this ISiloBuilder silo, IConfiguration storageSection, IReadOnlyCollection<string> storageNames, Action<AzureTableGrantOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(silo);
        ArgumentNullException.ThrowIfNull(storageSection);
        ArgumentNullException.ThrowIfNull(storageNames);
        var options = new AzureTableGrantOptions();
        AzureTableGrantConfiguration.Bind(options, storageSection);
        configure?.Invoke(options);
        return silo.UseGrantSiloAzureTables(options, storageNames);
    }

    /// <summary>Uses Azure Table Storage for membership, reminders and grain state, with <paramref name="options"/> given in code.</summary>
    public static ISiloBuilder UseGrantSiloAzureTables(this ISiloBuilder silo, AzureTableGrantOptions options, IReadOnlyCollection<string> storageNames)
    {
        ArgumentNullException.ThrowIfNull(silo);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(storageNames);
        silo.Services.AddTransient<IConfigurationValidator>(sp => new AzureTableOptionsValidator(options, "the silo's Azure Table storage", sp.GetService<IHostEnvironment>()));
        // Created when first asked for, after the validators above have run: nothing is contacted before then.
        var client = new Lazy<Azure.Data.Tables.TableServiceClient>(options.CreateServiceClient);

        silo.UseAzureStorageClustering(o =>
        {
            o.TableServiceClient = client.Value;
            o.TableName = options.MembershipTableName;
        });
        silo.UseAzureTableReminderService(o =>
        {
            o.TableServiceClient = client.Value;
            o.TableName = options.RemindersTableName;
        });
        foreach (var name in storageNames.Append(ProviderConstants.DEFAULT_STORAGE_PROVIDER_NAME).Distinct(StringComparer.Ordinal))
        {
            silo.AddAzureTableGrainStorage(name, ob => ob.Configure<Serializer>((o, serializer) =>
            {
                o.TableServiceClient = client.Value;
                o.TableName = options.GrainStateTableName;
                // The row is kept on clear: its ETag chain is what makes a stale activation's later write fail.
                o.DeleteStateOnClear = false;
                o.UseStringFormat = false;
                // Orleans' binary serializer, not JSON: GrantSilo's state (scopes among it) round-trips exactly.
                o.GrainStorageSerializer = new OrleansGrainStorageSerializer(serializer);
            }));
            Guard(silo.Services, name);
        }
        return silo;
    }

    // Wraps the keyed grain storage Microsoft's provider registered under this name (see GuardedGrainStorage).
    private static void Guard(IServiceCollection services, string name)
    {
        var registration = services.Last(d => d.ServiceType == typeof(IGrainStorage) && d.IsKeyedService && Equals(d.ServiceKey, name));
        var create = registration.KeyedImplementationFactory!;
        services.Remove(registration);
        services.AddKeyedSingleton<IGrainStorage>(name, (sp, key) =>
        {
            var options = sp.GetRequiredService<IOptionsMonitor<AzureTableStorageOptions>>().Get(name);
            return new GuardedGrainStorage((IGrainStorage)create(sp, key), options.TableName, options.GrainStorageSerializer, sp.GetRequiredService<ILoggerFactory>().CreateLogger<GuardedGrainStorage>());
        });
    }
}
