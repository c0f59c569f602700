using GrantSilo.Persistence.AzureTables;
using GrantSilo.Persistence.AzureTables.Clustering;
using GrantSilo.Persistence.AzureTables.Reminders;
using GrantSilo.Persistence.AzureTables.Storage;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Orleans;
using Orleans.Hosting;
using Orleans.Messaging;
using Orleans.Runtime.Hosting;
using Orleans.Storage;

namespace GrantSilo.Hosting;

/// <summary>The one place each provider's services are registered; the builder extensions call these.</summary>
internal static class AzureTableGrantServiceCollectionExtensions
{
    internal static IServiceCollection AddAzureTableGrantGrainStorage(
        this IServiceCollection services,
        string name,
        Action<OptionsBuilder<AzureTableGrainStorageOptions>> configureOptions)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        configureOptions(services.AddOptions<AzureTableGrainStorageOptions>(name));
        services.AddTransient<IConfigurationValidator>(sp => new AzureTableOptionsValidator(
            sp.GetRequiredService<IOptionsMonitor<AzureTableGrainStorageOptions>>().Get(name),
            $"grain storage '{name}'",
            sp.GetService<IHostEnvironment>()));
        services.TryAddEnumerable(ServiceDescriptor.Transient<IPostConfigureOptions<AzureTableGrainStorageOptions>, DefaultStorageProviderSerializerOptionsConfigurator<AzureTableGrainStorageOptions>>());
        return services.AddGrainStorage(name, static (sp, providerName) => ActivatorUtilities.CreateInstance<AzureTableGrainStorage>(
            sp,
            providerName,
            sp.GetRequiredService<IOptionsMonitor<AzureTableGrainStorageOptions>>().Get(providerName)));
    }

    internal static IServiceCollection AddAzureTableGrantReminders(
        this IServiceCollection services,
        Action<OptionsBuilder<AzureTableReminderOptions>> configureOptions)
    {
        configureOptions(services.AddOptions<AzureTableReminderOptions>());
        services.AddReminders();
        services.AddSingleton<IReminderTable, AzureTableReminderTable>();
        services.AddTransient<IConfigurationValidator>(sp => new AzureTableOptionsValidator(
            sp.GetRequiredService<IOptions<AzureTableReminderOptions>>().Value,
            "reminder table",
            sp.GetService<IHostEnvironment>()));
        return services;
    }

    internal static IServiceCollection AddAzureTableGrantMembership(
        this IServiceCollection services,
        Action<OptionsBuilder<AzureTableClusteringOptions>> configureOptions)
    {
        configureOptions(services.AddOptions<AzureTableClusteringOptions>());
        services.AddSingleton<IMembershipTable, AzureTableMembershipTable>();
        services.AddTransient<IConfigurationValidator>(sp => new AzureTableOptionsValidator(
            sp.GetRequiredService<IOptions<AzureTableClusteringOptions>>().Value,
            "membership table",
            sp.GetService<IHostEnvironment>()));
        return services;
    }

    internal static IServiceCollection AddAzureTableGrantGatewayList(
        this IServiceCollection services,
        Action<OptionsBuilder<AzureTableClusteringOptions>> configureOptions)
    {
        configureOptions(services.AddOptions<AzureTableClusteringOptions>());
        services.AddSingleton<IGatewayListProvider, AzureTableGatewayListProvider>();
        services.AddTransient<IConfigurationValidator>(sp => new AzureTableOptionsValidator(
            sp.GetRequiredService<IOptions<AzureTableClusteringOptions>>().Value,
            "gateway list",
            sp.GetService<IHostEnvironment>()));
        return services;
    }
}
