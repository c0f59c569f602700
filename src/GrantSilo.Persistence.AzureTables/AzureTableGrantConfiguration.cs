using Microsoft.Extensions.Configuration;

namespace GrantSilo.Persistence.AzureTables;

/// <summary>
/// Configuration keys of the AzureTable profile. The section <c>GrantSilo:Storage</c> holds the connection
/// (<c>ConnectionString</c>, <c>ServiceUri</c>, <c>AllowDevelopmentStorage</c>); each provider's table is named in its
/// own sub-section: <c>GrainState:TableName</c>, <c>Reminders:TableName</c>, <c>Membership:TableName</c>.
/// </summary>
public static class AzureTableGrantConfiguration
{
    /// <summary>The shared configuration section.</summary>
    public const string SectionName = "GrantSilo:Storage";

    /// <summary>The sub-section of the grain state provider.</summary>
    public const string GrainStateSection = "GrainState";

    /// <summary>The sub-section of the reminder table.</summary>
    public const string RemindersSection = "Reminders";

    /// <summary>The sub-section of the membership table and gateway list.</summary>
    public const string MembershipSection = "Membership";

    /// <summary>Keys of earlier GrantSilo builds that no longer mean anything, with what replaces each.</summary>
    internal static readonly IReadOnlyDictionary<string, string> RetiredKeys = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase)
    {
        ["ServiceIdPrefix"] = "deployments sharing a storage account are kept apart by GrantSilo:Silo:ServiceId (grain state, reminders) and GrantSilo:Silo:ClusterId (membership)",
        ["CreateTableIfNotExists"] = "the providers always create their tables at start-up",
        ["GrainState:DeleteStateOnClear"] = "clearing state always writes a tombstone that keeps the ETag chain",
        ["Membership:GatewayListRefreshPeriod"] = "use Orleans' GatewayOptions.GatewayListRefreshPeriod on the client",
    };

    /// <summary>Binds <paramref name="storageSection"/> (<c>GrantSilo:Storage</c>) onto <paramref name="options"/>.</summary>
    public static void Bind(AzureTableGrantOptions options, IConfiguration storageSection)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(storageSection);
        var retired = RetiredKeys.Where(k => storageSection[k.Key] is not null).Select(k => $"{SectionName}:{k.Key} is no longer used: {k.Value}.").ToList();
        if (retired.Count > 0)
        {
            throw new Microsoft.Extensions.Options.OptionsValidationException(SectionName, typeof(AzureTableGrantOptions), retired);
        }
        options.ConnectionString = storageSection[nameof(AzureTableGrantOptions.ConnectionString)] ?? options.ConnectionString;
        if (storageSection[nameof(AzureTableGrantOptions.ServiceUri)] is { Length: > 0 } uri)
        {
            options.ServiceUri = Uri.TryCreate(uri, UriKind.Absolute, out var parsed)
                ? parsed
                : throw new Microsoft.Extensions.Options.OptionsValidationException(SectionName, typeof(AzureTableGrantOptions),
                    [$"{SectionName}:ServiceUri must be an absolute URI, like https://<account>.table.core.windows.net/."]);
        }
        if (storageSection[nameof(AzureTableGrantOptions.AllowDevelopmentStorage)] is { Length: > 0 } allow)
        {
            options.AllowDevelopmentStorage = bool.TryParse(allow, out var value)
                ? value
                : throw new Microsoft.Extensions.Options.OptionsValidationException(SectionName, typeof(AzureTableGrantOptions),
                    [$"{SectionName}:AllowDevelopmentStorage must be true or false."]);
        }
        options.GrainStateTableName = storageSection[$"{GrainStateSection}:TableName"] ?? options.GrainStateTableName;
        options.RemindersTableName = storageSection[$"{RemindersSection}:TableName"] ?? options.RemindersTableName;
        options.MembershipTableName = storageSection[$"{MembershipSection}:TableName"] ?? options.MembershipTableName;
    }
}
