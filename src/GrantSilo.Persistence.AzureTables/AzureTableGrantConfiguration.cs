using Microsoft.Extensions.Configuration;

namespace GrantSilo.Persistence.AzureTables;

/// <summary>
/// Configuration keys of GrantSilo's Azure Table providers. All providers read the shared section
/// <c>GrantSilo:Storage</c> (<c>ConnectionString</c>, <c>ServiceUri</c>, <c>ServiceIdPrefix</c>,
/// <c>AllowDevelopmentStorage</c>) and then their own sub-section (<c>GrainState</c>, <c>Reminders</c>,
/// <c>Membership</c>), whose keys, such as <c>TableName</c>, override the shared ones.
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

    internal static void Bind<TOptions>(TOptions options, IConfiguration storageSection, string subSection)
        where TOptions : AzureTableGrantOptions
    {
        storageSection.Bind(options);
        storageSection.GetSection(subSection).Bind(options);
    }
}
