using Azure.Data.Tables;

namespace GrantSilo.Persistence.AzureTables.Internal;

/// <summary>Creates Azure SDK table clients from validated options.</summary>
internal static class TableClientFactory
{
    /// <summary>The account name of Azurite and the storage emulator.</summary>
    public const string DevelopmentAccountName = "devstoreaccount1";

    /// <summary>The published key of the development account; anyone knows it, so production must refuse it.</summary>
    public const string DevelopmentAccountKey =
        "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

    public static TableServiceClient CreateServiceClient(AzureTableGrantOptions options)
    {
        var clientOptions = new TableClientOptions();
        clientOptions.Retry.MaxRetries = 3;
        clientOptions.Retry.Delay = TimeSpan.FromMilliseconds(200);
        clientOptions.Retry.MaxDelay = TimeSpan.FromSeconds(5);
        clientOptions.Retry.NetworkTimeout = TimeSpan.FromSeconds(30);
        options.ConfigureTableClientOptions?.Invoke(clientOptions);

        if (!string.IsNullOrWhiteSpace(options.ConnectionString))
        {
            return new TableServiceClient(options.ConnectionString, clientOptions);
        }

        if (options.ServiceUri is not null && options.TokenCredential is not null)
        {
            return new TableServiceClient(options.ServiceUri, options.TokenCredential, clientOptions);
        }

        throw new InvalidOperationException(AzureTableOptionsValidator.MissingConnectionMessage(options, "the provider"));
    }

    public static TableClient CreateTableClient(AzureTableGrantOptions options)
        => CreateServiceClient(options).GetTableClient(options.TableName);

    /// <summary>True when the options point at the well-known development account (Azurite or the emulator).</summary>
    public static bool UsesDevelopmentStorage(AzureTableGrantOptions options)
    {
        if (options.ConnectionString is { } connectionString)
        {
            if (connectionString.Contains("UseDevelopmentStorage=true", StringComparison.OrdinalIgnoreCase)
                || connectionString.Contains(DevelopmentAccountKey, StringComparison.Ordinal)
                || connectionString.Contains("AccountName=" + DevelopmentAccountName, StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }

        return options.ServiceUri is { } uri && uri.AbsolutePath.Contains(DevelopmentAccountName, StringComparison.OrdinalIgnoreCase);
    }
}
