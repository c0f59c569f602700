using GrantSilo.Persistence.AzureTables.Internal;
using Microsoft.Extensions.Hosting;
using Orleans;
using Orleans.Runtime;

namespace GrantSilo.Persistence.AzureTables;

/// <summary>
/// Checks a provider's options when the silo or client starts, and says how to fix what is wrong.
/// </summary>
public sealed class AzureTableOptionsValidator : IConfigurationValidator
{
    private readonly AzureTableGrantOptions _options;
    private readonly string _providerDescription;
    private readonly IHostEnvironment? _environment;

    /// <summary>Creates a validator for the options of one provider.</summary>
    /// <param name="options">The options to check.</param>
    /// <param name="providerDescription">Names the provider in messages, for example <c>grain storage 'grants'</c>.</param>
    /// <param name="environment">The host environment; when it is <c>Development</c> the development account is allowed by default.</param>
    public AzureTableOptionsValidator(AzureTableGrantOptions options, string providerDescription, IHostEnvironment? environment)
    {
        _options = options;
        _providerDescription = providerDescription;
        _environment = environment;
    }

    /// <inheritdoc/>
    public void ValidateConfiguration()
    {
        var errors = Validate(_options, _providerDescription, _environment);
        if (errors.Count > 0)
        {
            throw new OrleansConfigurationException(string.Join(Environment.NewLine, errors));
        }
    }

    /// <summary>Returns every problem with <paramref name="options"/>, each as a message that says how to fix it.</summary>
    public static IReadOnlyList<string> Validate(AzureTableGrantOptions options, string providerDescription, IHostEnvironment? environment)
    {
        ArgumentNullException.ThrowIfNull(options);
        var errors = new List<string>();
        var hasConnectionString = !string.IsNullOrWhiteSpace(options.ConnectionString);
        var hasUri = options.ServiceUri is not null;

        if (!hasConnectionString && !hasUri)
        {
            errors.Add(MissingConnectionMessage(options, providerDescription));
        }
        else if (hasConnectionString && hasUri)
        {
            errors.Add($"Ambiguous Azure Table connection for the {providerDescription}: both {AzureTableGrantConfiguration.SectionName}:ConnectionString and {AzureTableGrantConfiguration.SectionName}:ServiceUri are set; set only one.");
        }
        else if (hasUri && options.TokenCredential is null)
        {
            errors.Add($"No credential for the Azure Table service URI of the {providerDescription}: set a TokenCredential (for example DefaultAzureCredential) in code alongside {AzureTableGrantConfiguration.SectionName}:ServiceUri, or use {AzureTableGrantConfiguration.SectionName}:ConnectionString instead.");
        }
        else if (hasUri && !options.ServiceUri!.IsAbsoluteUri)
        {
            errors.Add($"The Azure Table service URI of the {providerDescription} must be absolute, like https://<account>.table.core.windows.net/.");
        }

        if (hasConnectionString && TableClientFactory.UsesDevelopmentStorage(options) && !DevelopmentStorageAllowed(options, environment))
        {
            errors.Add($"The {providerDescription} is configured with the Azurite/emulator development account, whose key is public. It is refused outside the Development environment: use a real storage account, or set {AzureTableGrantConfiguration.SectionName}:AllowDevelopmentStorage=true for a test deployment.");
        }

        if (string.IsNullOrWhiteSpace(options.TableName))
        {
            errors.Add($"No table name for the {providerDescription}: set {AzureTableGrantConfiguration.SectionName}:<Provider>:TableName or leave it unset for the default.");
        }
        else if (!IsValidTableName(options.TableName))
        {
            errors.Add($"The table name '{options.TableName}' of the {providerDescription} is not a valid Azure table name: use 3 to 63 letters and digits, starting with a letter.");
        }

        return errors;
    }

    internal static string MissingConnectionMessage(AzureTableGrantOptions options, string providerDescription)
        => $"No Azure Table connection for the {providerDescription}: set {AzureTableGrantConfiguration.SectionName}:ConnectionString, or {AzureTableGrantConfiguration.SectionName}:ServiceUri with a TokenCredential in code. For local development run Azurite (npm ci at the repository root, then node_modules/.bin/azurite-table) and use its connection string with {AzureTableGrantConfiguration.SectionName}:AllowDevelopmentStorage=true.";

    private static bool DevelopmentStorageAllowed(AzureTableGrantOptions options, IHostEnvironment? environment)
        => options.AllowDevelopmentStorage ?? environment?.IsDevelopment() ?? false;

    private static bool IsValidTableName(string name)
        => name.Length is >= 3 and <= 63 && char.IsAsciiLetter(name[0]) && name.All(char.IsAsciiLetterOrDigit);
}
