using Azure.Data.Tables;

namespace GrantSilo.Persistence.AzureTables.Internal;

internal static class TableInitializer
{
    /// <summary>Creates the table if it does not exist; returns true when this call created it.</summary>
    public static async Task<bool> EnsureTableAsync(TableClient table, string operation, CancellationToken cancellationToken)
    {
        try
        {
            var response = await table.CreateIfNotExistsAsync(cancellationToken).ConfigureAwait(false);
            return response is not null && response.GetRawResponse().Status == 204;
        }
        catch (Exception exception) when (AzureTableErrors.IsStorageFailure(exception))
        {
            throw AzureTableErrors.Translate(exception, operation, table.Name, "creating the table");
        }
    }
}
