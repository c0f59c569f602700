using GrantSilo.Persistence.AzureTables;
using Microsoft.Extensions.Configuration;
using Orleans.Hosting;

namespace GrantSilo.Hosting;

/// <summary>Lets an Orleans client find its cluster's gateways in the Azure Table membership table.</summary>
public static class AzureTableGrantClientBuilderExtensions
{
    /// <summary>Finds gateways in the Azure Table membership table the silos keep.</summary>
    public static IClientBuilder UseAzureTableGrantClustering(this IClientBuilder builder, Action<AzureTableClusteringOptions> configureOptions)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(configureOptions);
        return builder.ConfigureServices(services => services.AddAzureTableGrantGatewayList(ob => ob.Configure(configureOptions)));
    }

    /// <summary>Finds gateways in the Azure Table membership table, configured from <paramref name="storageSection"/> (<c>GrantSilo:Storage</c> and its <c>Membership</c> sub-section).</summary>
    public static IClientBuilder UseAzureTableGrantClustering(this IClientBuilder builder, IConfiguration storageSection)
    {
        ArgumentNullException.ThrowIfNull(storageSection);
        return builder.UseAzureTableGrantClustering(o => AzureTableGrantConfiguration.Bind(o, storageSection, AzureTableGrantConfiguration.MembershipSection));
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
    public static Microsoft.Extensions.Hosting.IHostApplicationBuilder AddGrantSiloAzureTableClient(this Microsoft.Extensions.Hosting.IHostApplicationBuilder builder, Action<GrantSilo.Client.GrantClientOptions>? configure = null)
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
