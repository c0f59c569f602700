using Azure.Core;
using Azure.Data.Tables;
using Orleans.Clustering.AzureStorage;
using Orleans.Configuration;
using Orleans.Reminders.AzureStorage;

namespace GrantSilo.Persistence.AzureTables;

/// <summary>
/// How the AzureTable profile reaches its storage account, and which tables the Microsoft Orleans providers
/// (<c>Microsoft.Orleans.Persistence.AzureStorage</c>, <c>Reminders.AzureStorage</c>, <c>Clustering.AzureStorage</c>)
/// use there. Bound from the configuration section <c>GrantSilo:Storage</c> (see <see cref="AzureTableGrantConfiguration"/>).
/// </summary>
public sealed class AzureTableGrantOptions
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

    /// <summary>
    /// Gets or sets whether the Azurite/emulator development account (<c>devstoreaccount1</c> and its well-known key) may be
    /// used (configuration key <c>GrantSilo:Storage:AllowDevelopmentStorage</c>). When unset it is allowed only if the host
    /// environment is <c>Development</c>; any other environment refuses it.
    /// </summary>
    public bool? AllowDevelopmentStorage { get; set; }

    /// <summary>Gets or sets the grain state table (<c>GrantSilo:Storage:GrainState:TableName</c>, default <c>OrleansGrainState</c>).</summary>
    public string GrainStateTableName { get; set; } = AzureTableStorageOptions.DEFAULT_TABLE_NAME;

    /// <summary>Gets or sets the reminder table (<c>GrantSilo:Storage:Reminders:TableName</c>, default <c>OrleansReminders</c>).</summary>
    public string RemindersTableName { get; set; } = AzureTableReminderStorageOptions.DEFAULT_TABLE_NAME;

    /// <summary>Gets or sets the membership table (<c>GrantSilo:Storage:Membership:TableName</c>, default <c>OrleansSiloInstances</c>).</summary>
    public string MembershipTableName { get; set; } = AzureStorageClusteringOptions.DEFAULT_TABLE_NAME;

    /// <summary>
    /// Gets or sets a hook that adjusts the Azure SDK client options (retries, timeouts, extra pipeline policies) before
    /// the table client is created. Tests use it to inject faults.
    /// </summary>
    public Action<TableClientOptions>? ConfigureTableClientOptions { get; set; }

    /// <summary>
    /// Creates the table service client the three providers share. Retries are the Azure SDK's: exponential, 3 retries
    /// from 200 ms up to 5 s, and a 30 s network timeout per attempt, unless <see cref="ConfigureTableClientOptions"/>
    /// says otherwise.
    /// </summary>
    public TableServiceClient CreateServiceClient()
    {
        var clientOptions = new TableClientOptions();
        clientOptions.Retry.Mode = RetryMode.Exponential;
        clientOptions.Retry.MaxRetries = 3;
        clientOptions.Retry.Delay = TimeSpan.FromMilliseconds(200);
        clientOptions.Retry.MaxDelay = TimeSpan.FromSeconds(5);
        clientOptions.Retry.NetworkTimeout = TimeSpan.FromSeconds(30);
        ConfigureTableClientOptions?.Invoke(clientOptions);

        if (!string.IsNullOrWhiteSpace(ConnectionString))
        {
            return new TableServiceClient(ConnectionString, clientOptions);
        }

        if (ServiceUri is not null && TokenCredential is not null)
        {
            return new TableServiceClient(ServiceUri, TokenCredential, clientOptions);
        }

        throw new InvalidOperationException(AzureTableOptionsValidator.MissingConnectionMessage("the AzureTable profile"));
    }
}
