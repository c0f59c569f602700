using GrantSilo.Persistence.AzureTables;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Orleans.Hosting;

namespace GrantSilo.Hosting;

/// <summary>Lets an Orleans client find its cluster's gateways in the membership table the silos keep.</summary>
public static class AzureTableGrantClientBuilderExtensions
{
    /// <summary>Finds gateways with Microsoft's <c>UseAzureStorageClustering</c>, configured from <paramref name="storageSection"/> (<c>GrantSilo:Storage</c>).</summary>
    public static IClientBuilder UseAzureTableGrantClustering(this IClientBuilder builder, IConfiguration storageSection, Action<AzureTableGrantOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(storageSection);
        var options = new AzureTableGrantOptions();
        AzureTableGrantConfiguration.Bind(options, storageSection);
        configure?.Invoke(options);
        return builder.UseAzureTableGrantClustering(options);
    }

    /// <summary>Finds gateways with Microsoft's <c>UseAzureStorageClustering</c>, with <paramref name="options"/> given in code.</summary>
    public static IClientBuilder UseAzureTableGrantClustering(this IClientBuilder builder, AzureTableGrantOptions options)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(options);
        builder.Services.AddTransient<Orleans.IConfigurationValidator>(sp => new AzureTableOptionsValidator(options, "the client's gateway list", sp.GetService<IHostEnvironment>()));
        var client = new Lazy<Azure.Data.Tables.TableServiceClient>(options.CreateServiceClient);
        return builder.UseAzureStorageClustering(o =>
        {
            o.TableServiceClient = client.Value;
            o.TableName = options.MembershipTableName;
        });
    }
}

/// <summary>Registers a GrantSilo client that finds its gateways in the Azure Table membership table.</summary>
public static class AzureTableGrantClientHostExtensions
{
    /// <summary>
    /// Adds an Orleans client and <see cref="GrantSilo.Client.GrantClient"/> as
    /// <see cref="GrantClientServiceCollectionExtensions.AddGrantSiloClient"/> does, finding the gateways in
    /// the Azure Table membership table the silos keep, configured from <c>GrantSilo:Storage</c> exactly as
    /// the silos use it (fixed <c>GrantSilo:Client:Gateways</c> still win). TLS is on, as on the silos of the
    /// multi-silo profile: <c>GrantSilo:Client:Tls:CaFile</c> names the CA the silos' certificates chain to.
    /// </summary>
    public static IHostApplicationBuilder AddGrantSiloAzureTableClient(this IHostApplicationBuilder builder, Action<GrantSilo.Client.GrantClientOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var storage = builder.Configuration.GetSection(AzureTableGrantConfiguration.SectionName);
        return builder.AddGrantSiloClient(options =>
        {
            configure?.Invoke(options);
            // The multi-silo profile's gateways accept only TLS; a client without it could never connect.
            if (options.Tls.Enabled == false)
            {
                throw new Microsoft.Extensions.Options.OptionsValidationException(GrantSilo.Tls.GrantSiloTlsOptions.ClientSectionName, typeof(GrantSilo.Tls.GrantSiloTlsOptions),
                    [$"The silos of the multi-silo (AzureTable) profile accept only TLS; remove {GrantSilo.Tls.GrantSiloTlsOptions.ClientSectionName}:Enabled=false and set {GrantSilo.Tls.GrantSiloTlsOptions.ClientSectionName}:CaFile to the CA that signs the silos' certificates."]);
            }
            options.Tls.Enabled = true;
        }, client => client.UseAzureTableGrantClustering(storage));
    }
}
