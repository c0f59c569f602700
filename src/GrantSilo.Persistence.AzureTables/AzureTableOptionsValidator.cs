using GrantSilo.Persistence.AzureTables.Internal;
using Microsoft.Extensions.Hosting;
using Orleans;
using Orleans.Runtime;

namespace GrantSilo.Persistence.AzureTables;

/// <summary>
/// Checks the AzureTable profile's options when the silo or client starts, and says how to fix what is wrong. It
/// guards what Microsoft's providers do not: the development account's public key outside Development, and an
/// ambiguous or incomplete connection.
/// </summary>
public sealed class AzureTableOptionsValidator : IConfigurationValidator
{
    private readonly AzureTableGrantOptions _options;
    private readonly string _description;
    private readonly IHostEnvironment? _environment;

    /// <summary>Creates a validator.</summary>
    /// <param name="options">The options to check.</param>
    /// <param name="description">Names what uses them in messages, for example <c>the silo's storage</c>.</param>
    /// <param name="environment">The host environment; when it is <c>Development</c> the development account is allowed by default.</param>
    public AzureTableOptionsValidator(AzureTableGrantOptions options, string description, IHostEnvironment? environment)
    {
        _options = options;
        _description = description;
        _environment = environment;
    }

    /// <inheritdoc/>
    public void ValidateConfiguration()
    {
        var errors = Validate(_options, _description, _environment);
        if (errors.Count > 0)
        {
            throw new OrleansConfigurationException(string.Join(Environment.NewLine, errors));
        }
    }

    /// <summary>Returns every problem with <paramref name="options"/>, each as a message that says how to fix it.</summary>
    public static IReadOnlyList<string> Validate(AzureTableGrantOptions options, string description, IHostEnvironment? environment)
    {
        ArgumentNullException.ThrowIfNull(options);
        var errors = new List<string>();
        var hasConnectionString = !string.IsNullOrWhiteSpace(options.ConnectionString);
        var hasUri = options.ServiceUri is not null;

        if (!hasConnectionString && !hasUri)
        {
            errors.Add(MissingConnectionMessage(description));
        }
        else if (hasConnectionString && hasUri)
        {
            errors.Add($"Ambiguous Azure Table connection for {description}: both {AzureTableGrantConfiguration.SectionName}:ConnectionString and {AzureTableGrantConfiguration.SectionName}:ServiceUri are set; set only one.");
        }
        else if (hasUri && options.TokenCredential is null)
        {
            errors.Add($"No credential for the Azure Table service URI of {description}: set a TokenCredential (for example DefaultAzureCredential) in code alongside {AzureTableGrantConfiguration.SectionName}:ServiceUri, or use {AzureTableGrantConfiguration.SectionName}:ConnectionString instead.");
        }
        else if (hasUri && !options.ServiceUri!.IsAbsoluteUri)
        {
            errors.Add($"The Azure Table service URI of {description} must be absolute, like https://<account>.table.core.windows.net/.");
        }

        if (DevelopmentStorage.IsUsedBy(options) && !DevelopmentStorageAllowed(options, environment))
        {
            errors.Add($"{description} is configured with the Azurite/emulator development account, whose key is public. It is refused outside the Development environment: use a real storage account, or set {AzureTableGrantConfiguration.SectionName}:AllowDevelopmentStorage=true for a test deployment.");
        }

        CheckTable(options.GrainStateTableName, AzureTableGrantConfiguration.GrainStateSection);
        CheckTable(options.RemindersTableName, AzureTableGrantConfiguration.RemindersSection);
        CheckTable(options.MembershipTableName, AzureTableGrantConfiguration.MembershipSection);
        return errors;

        void CheckTable(string? name, string section)
        {
            if (string.IsNullOrWhiteSpace(name))
            {
                errors.Add($"No table name for {description}: set {AzureTableGrantConfiguration.SectionName}:{section}:TableName or leave it unset for the default.");
            }
            else if (!IsValidTableName(name))
            {
                errors.Add($"The table name '{name}' ({AzureTableGrantConfiguration.SectionName}:{section}:TableName) is not a valid Azure table name: use 3 to 63 letters and digits, starting with a letter.");
            }
        }
    }

    internal static string MissingConnectionMessage(string description)
        => $"No Azure Table connection for {description}: set {AzureTableGrantConfiguration.SectionName}:ConnectionString, or {AzureTableGrantConfiguration.SectionName}:ServiceUri with a TokenCredential in code. For local development run Azurite (npm ci at the repository root, then node_modules/.bin/azurite-table) and use its connection string with {AzureTableGrantConfiguration.SectionName}:AllowDevelopmentStorage=true.";

    private static bool DevelopmentStorageAllowed(AzureTableGrantOptions options, IHostEnvironment? environment)
        => options.AllowDevelopmentStorage ?? environment?.IsDevelopment() ?? false;

    private static bool IsValidTableName(string name)
        => name.Length is >= 3 and <= 63 && char.IsAsciiLetter(name[0]) && name.All(char.IsAsciiLetterOrDigit);
}
