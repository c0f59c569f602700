using GrantSilo.Persistence.AzureTables.Hosting;
using Microsoft.Extensions.Configuration;
using Orleans.Hosting;

namespace GrantSilo.Persistence.AzureTables;

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
