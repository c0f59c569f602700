using GrantSilo.Tls;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Orleans.Configuration;

namespace GrantSilo.Hosting;

/// <summary>TLS on a silo's connections, from <see cref="GrantSiloTlsOptions"/> (section <c>GrantSilo:Tls</c>).</summary>
public static class GrantSiloTlsSiloBuilderExtensions
{
    /// <summary>
    /// Mutual TLS on silo-to-silo links (each silo presents its certificate and checks the other's against
    /// <see cref="GrantSiloTlsOptions.CaFile"/> and <see cref="GrantSiloTlsOptions.AllowedPeerNames"/>) and TLS on the
    /// client gateway (a client certificate required when <see cref="GrantSiloTlsOptions.RequireClientCertificate"/>,
    /// otherwise checked only when presented). Loads and checks the certificates now, throwing
    /// <see cref="Microsoft.Extensions.Options.OptionsValidationException"/> naming the keys under <paramref name="section"/>.
    /// </summary>
    public static ISiloBuilder UseGrantSiloTls(this ISiloBuilder silo, GrantSiloTlsOptions options, string section = GrantSiloTlsOptions.SiloSectionName)
    {
        ArgumentNullException.ThrowIfNull(silo);
        return silo.UseGrantSiloTls(GrantSiloTlsCredentials.Load(options, section, GrantSiloTlsRole.Silo));
    }

    /// <summary>As <see cref="UseGrantSiloTls(ISiloBuilder, GrantSiloTlsOptions, string)"/>, with certificates already loaded.</summary>
    public static ISiloBuilder UseGrantSiloTls(this ISiloBuilder silo, GrantSiloTlsCredentials credentials)
    {
        ArgumentNullException.ThrowIfNull(silo);
        ArgumentNullException.ThrowIfNull(credentials);
        if (credentials.Role != GrantSiloTlsRole.Silo || credentials.Certificate is null)
        {
            throw new ArgumentException("A silo needs credentials loaded for the Silo role, with a certificate.", nameof(credentials));
        }
        silo.Services.AddSingleton<IHostedService>(sp => new GrantSiloTlsBanner(sp.GetRequiredService<ILogger<GrantSiloTlsCredentials>>(), credentials));
        return silo.Configure<SiloConnectionOptions>(o =>
        {
            o.ConfigureSiloInboundConnection(connection => connection.UseServerTls(credentials.SiloInbound(connection.ApplicationServices)));
            o.ConfigureSiloOutboundConnection(connection => connection.UseClientTls(credentials.SiloOutbound(connection.ApplicationServices)));
            o.ConfigureGatewayInboundConnection(connection => connection.UseServerTls(credentials.GatewayInbound(connection.ApplicationServices)));
        });
    }
}
