namespace GrantSilo.Persistence.AzureTables.Internal;

/// <summary>Recognises the Azurite/emulator development account, whose key anyone knows.</summary>
internal static class DevelopmentStorage
{
    /// <summary>The account name of Azurite and the storage emulator.</summary>
    public const string AccountName = "devstoreaccount1";

    /// <summary>The published key of the development account; anyone knows it, so production must refuse it.</summary>
    public const string AccountKey =
        "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

    /// <summary>True when the options point at the well-known development account.</summary>
    public static bool IsUsedBy(AzureTableGrantOptions options)
    {
        if (options.ConnectionString is { } connectionString
            && (connectionString.Contains("UseDevelopmentStorage=true", StringComparison.OrdinalIgnoreCase)
                || connectionString.Contains(AccountKey, StringComparison.Ordinal)
                || connectionString.Contains("AccountName=" + AccountName, StringComparison.OrdinalIgnoreCase)))
        {
            return true;
        }

        return options.ServiceUri is { } uri && uri.AbsolutePath.Contains(AccountName, StringComparison.OrdinalIgnoreCase);
    }
}
