using GrantSilo.Grains.Audit;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace GrantSilo.Persistence.AzureTables.Audit;

/// <summary>Registers the Azure Tables audit store (README.md, "Audit log").</summary>
public static class AzureTableAuditSiloBuilderExtensions
{
    /// <summary>
    /// Writes the silo's audit log to Azure Tables through <paramref name="storage"/>'s connection, the table and partition
    /// scheme from <paramref name="auditSection"/> (<see cref="AzureTableAuditOptions.SectionName"/>).
    /// </summary>
    public static ISiloBuilder AddAzureTableAuditStore(this ISiloBuilder silo, AzureTableGrantOptions storage, IConfiguration? auditSection = null, Action<AzureTableAuditOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(silo);
        ArgumentNullException.ThrowIfNull(storage);
        var options = new AzureTableAuditOptions();
        auditSection?.Bind(options);
        configure?.Invoke(options);
        if (options.Buckets is < 1 or > 256 || options.TailHintEvery < 1 || string.IsNullOrWhiteSpace(options.TableName))
        {
            throw new Microsoft.Extensions.Options.OptionsValidationException(AzureTableAuditOptions.SectionName, typeof(AzureTableAuditOptions),
                [$"{AzureTableAuditOptions.SectionName}: TableName is required, Buckets is 1-256 and TailHintEvery at least 1."]);
        }
        // Created when first used, after the storage validators have run.
        silo.Services.AddSingleton<IAuditStore>(_ => new AzureTableAuditStore(storage.CreateServiceClient(), options));
        return silo;
    }
}
