using GrantSilo.Tls;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Orleans.Configuration;

namespace Orleans.Hosting;

/// <summary>TLS on an Orleans client's connections to GrantSilo gateways.</summary>
public static class GrantSiloTlsClientBuilderExtensions
{
    /// <summary>
    /// Connects to gateways over TLS: the silo's certificate must chain to <see cref="GrantSiloTlsOptions.CaFile"/>
    /// (and carry one of <see cref="GrantSiloTlsOptions.AllowedPeerNames"/> when listed); the client presents its own
    /// certificate when one is configured. Loads and checks the certificates now, throwing
    /// <see cref="Microsoft.Extensions.Options.OptionsValidationException"/> naming the keys under <paramref name="section"/>.
    /// </summary>
    public static IClientBuilder UseGrantSiloTls(this IClientBuilder client, GrantSiloTlsOptions options, string section = GrantSiloTlsOptions.ClientSectionName)
    {
        ArgumentNullException.ThrowIfNull(client);
        var credentials = GrantSiloTlsCredentials.Load(options, section, GrantSiloTlsRole.Client);
        return client.UseGrantSiloTls(credentials);
    }

    /// <summary>As <see cref="UseGrantSiloTls(IClientBuilder, GrantSiloTlsOptions, string)"/>, with certificates already loaded.</summary>
    public static IClientBuilder UseGrantSiloTls(this IClientBuilder client, GrantSiloTlsCredentials credentials)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(credentials);
        client.Services.AddSingleton<IHostedService>(sp => new GrantSiloTlsBanner(sp.GetRequiredService<ILogger<GrantSiloTlsCredentials>>(), credentials));
        return client.Configure<ClientConnectionOptions>(o => o.ConfigureConnection(connection => connection.UseClientTls(credentials.ClientToGateway(connection.ApplicationServices))));
    }
}
