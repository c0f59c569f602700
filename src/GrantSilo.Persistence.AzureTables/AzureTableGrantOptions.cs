using Azure.Core;
using Azure.Data.Tables;
using Orleans.Storage;

namespace GrantSilo.Persistence.AzureTables;

/// <summary>
/// How GrantSilo's Azure Table providers reach the storage account. Bound from the configuration section
/// <c>GrantSilo:Storage</c> (see <see cref="AzureTableGrantConfiguration"/>); each provider has its own copy so it can
/// use its own table.
/// </summary>
public abstract class AzureTableGrantOptions
{
    /// <summary>
    /// Gets or sets the storage account connection string (configuration key <c>GrantSilo:Storage:ConnectionString</c>).
    /// Either this or <see cref="ServiceUri"/> with <see cref="TokenCredential"/> must be set.
    /// </summary>
    public string? ConnectionString { get; set; }

    /// <summary>
    /// Gets or sets the table service endpoint, for example <c>https://account.table.core.windows.net/</c>
    /// (configuration key <c>GrantSilo:Storage:ServiceUri</c>); used with <see cref="TokenCredential"/>.
    /// </summary>
    public Uri? ServiceUri { get; set; }

    /// <summary>Gets or sets the Entra ID credential used with <see cref="ServiceUri"/> (set in code, never in configuration).</summary>
    public TokenCredential? TokenCredential { get; set; }

    /// <summary>Gets or sets the name of the Azure table (configuration key <c>GrantSilo:Storage:{Provider}:TableName</c>).</summary>
    public abstract string TableName { get; set; }

    /// <summary>
    /// Gets or sets the prefix that keeps several deployments apart when they share one storage account and table
    /// (configuration key <c>GrantSilo:Storage:ServiceIdPrefix</c>). When empty, the Orleans <c>ClusterOptions.ServiceId</c> is used.
    /// </summary>
    public string? ServiceIdPrefix { get; set; }

    /// <summary>
    /// Gets or sets whether the Azurite/emulator development account (<c>devstoreaccount1</c> and its well-known key) may be
    /// used (configuration key <c>GrantSilo:Storage:AllowDevelopmentStorage</c>). When unset it is allowed only if the host
    /// environment is <c>Development</c>; a production profile refuses it.
    /// </summary>
    public bool? AllowDevelopmentStorage { get; set; }

    /// <summary>
    /// Gets or sets a hook that adjusts the Azure SDK client options (retries, timeouts, extra pipeline policies) before
    /// the table client is created. Tests use it to inject faults.
    /// </summary>
    public Action<TableClientOptions>? ConfigureTableClientOptions { get; set; }

    /// <summary>Gets or sets whether the provider creates its table when it starts (default true).</summary>
    public bool CreateTableIfNotExists { get; set; } = true;
}

/// <summary>Options of the grain state provider (<c>AddAzureTableGrantStorage</c>).</summary>
public sealed class AzureTableGrainStorageOptions : AzureTableGrantOptions, IStorageProviderSerializerOptions
{
    /// <summary>The table used when none is configured.</summary>
    public const string DefaultTableName = "GrantSiloGrainState";

    /// <inheritdoc/>
    public override string TableName { get; set; } = DefaultTableName;

    /// <summary>
    /// Gets or sets whether clearing state deletes the row (true) or overwrites it with an empty tombstone that keeps
    /// the ETag chain (false, the default: a stale activation's later write then still fails on its ETag).
    /// </summary>
    public bool DeleteStateOnClear { get; set; }

    /// <summary>
    /// Gets or sets the serializer for grain state; when unset, the serializer registered for this provider's name or the
    /// silo's default <see cref="IGrainStorageSerializer"/> is used.
    /// </summary>
    public IGrainStorageSerializer GrainStorageSerializer { get; set; } = null!;

    /// <summary>Gets or sets the silo lifecycle stage at which the table is created (default: application services).</summary>
    public int InitStage { get; set; } = Orleans.ServiceLifecycleStage.ApplicationServices;
}

/// <summary>Options of the reminder table (<c>UseAzureTableGrantReminders</c>).</summary>
public sealed class AzureTableReminderOptions : AzureTableGrantOptions
{
    /// <summary>The table used when none is configured.</summary>
    public const string DefaultTableName = "GrantSiloReminders";

    /// <inheritdoc/>
    public override string TableName { get; set; } = DefaultTableName;
}

/// <summary>Options of the membership table used by silos and of the gateway list used by clients (<c>UseAzureTableGrantClustering</c>).</summary>
public sealed class AzureTableClusteringOptions : AzureTableGrantOptions
{
    /// <summary>The table used when none is configured.</summary>
    public const string DefaultTableName = "GrantSiloMembership";

    /// <inheritdoc/>
    public override string TableName { get; set; } = DefaultTableName;

    /// <summary>Gets or sets how long a client may use a gateway list before reading it again (default one minute).</summary>
    public TimeSpan GatewayListRefreshPeriod { get; set; } = TimeSpan.FromMinutes(1);
}
