using GrantSilo.Persistence.AzureTables;
using Microsoft.Extensions.Configuration;
using Orleans.Hosting;
using Orleans.Providers;

namespace GrantSilo.Hosting;

/// <summary>
/// Registers GrantSilo's Azure Table providers on a silo. Each method has an overload that binds the configuration
/// section <c>GrantSilo:Storage</c> (see <see cref="AzureTableGrantConfiguration"/>) and one that takes code.
/// </summary>
public static class AzureTableGrantSiloBuilderExtensions
{
    /// <summary>Uses the Azure Table membership table for this silo's cluster.</summary>
    public static ISiloBuilder UseAzureTableGrantClustering(this ISiloBuilder builder, Action<AzureTableClusteringOptions> configureOptions)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(configureOptions);
        return builder.ConfigureServices(services => services.AddAzureTableGrantMembership(ob => ob.Configure(configureOptions)));
    }

    /// <summary>Uses the Azure Table membership table, configured from <paramref name="storageSection"/> (<c>GrantSilo:Storage</c> and its <c>Membership</c> sub-section).</summary>
    public static ISiloBuilder UseAzureTableGrantClustering(this ISiloBuilder builder, IConfiguration storageSection)
    {
        ArgumentNullException.ThrowIfNull(storageSection);
        return builder.UseAzureTableGrantClustering(o => AzureTableGrantConfiguration.Bind(o, storageSection, AzureTableGrantConfiguration.MembershipSection));
    }

    /// <summary>Adds Azure Table grain storage under <paramref name="name"/> (used as <c>[PersistentState("x", name)]</c>).</summary>
    public static ISiloBuilder AddAzureTableGrantStorage(this ISiloBuilder builder, string name, Action<AzureTableGrainStorageOptions> configureOptions)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(configureOptions);
        return builder.ConfigureServices(services => services.AddAzureTableGrantGrainStorage(name, ob => ob.Configure(configureOptions)));
    }

    /// <summary>Adds Azure Table grain storage under <paramref name="name"/>, configured from <paramref name="storageSection"/> (<c>GrantSilo:Storage</c> and its <c>GrainState</c> sub-section).</summary>
    public static ISiloBuilder AddAzureTableGrantStorage(this ISiloBuilder builder, string name, IConfiguration storageSection)
    {
        ArgumentNullException.ThrowIfNull(storageSection);
        return builder.AddAzureTableGrantStorage(name, o => AzureTableGrantConfiguration.Bind(o, storageSection, AzureTableGrantConfiguration.GrainStateSection));
    }

    /// <summary>Adds Azure Table grain storage as the default provider (used by <c>[PersistentState("x")]</c> without a name).</summary>
    public static ISiloBuilder AddAzureTableGrantStorageAsDefault(this ISiloBuilder builder, Action<AzureTableGrainStorageOptions> configureOptions)
        => builder.AddAzureTableGrantStorage(ProviderConstants.DEFAULT_STORAGE_PROVIDER_NAME, configureOptions);

    /// <summary>Adds Azure Table grain storage as the default provider, configured from <paramref name="storageSection"/>.</summary>
    public static ISiloBuilder AddAzureTableGrantStorageAsDefault(this ISiloBuilder builder, IConfiguration storageSection)
        => builder.AddAzureTableGrantStorage(ProviderConstants.DEFAULT_STORAGE_PROVIDER_NAME, storageSection);

    /// <summary>Adds the reminder service with its table on Azure Tables.</summary>
    public static ISiloBuilder UseAzureTableGrantReminders(this ISiloBuilder builder, Action<AzureTableReminderOptions> configureOptions)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(configureOptions);
        return builder.ConfigureServices(services => services.AddAzureTableGrantReminders(ob => ob.Configure(configureOptions)));
    }

    /// <summary>Adds the reminder service on Azure Tables, configured from <paramref name="storageSection"/> (<c>GrantSilo:Storage</c> and its <c>Reminders</c> sub-section).</summary>
    public static ISiloBuilder UseAzureTableGrantReminders(this ISiloBuilder builder, IConfiguration storageSection)
    {
        ArgumentNullException.ThrowIfNull(storageSection);
        return builder.UseAzureTableGrantReminders(o => AzureTableGrantConfiguration.Bind(o, storageSection, AzureTableGrantConfiguration.RemindersSection));
    }
}
