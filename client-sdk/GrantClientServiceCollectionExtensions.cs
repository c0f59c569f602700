using System.ComponentModel.DataAnnotations;
using System.Net;
using GrantSilo.Client;
using GrantSilo.Tls;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace GrantSilo.Hosting;

/// <summary>Registers the GrantSilo client the usual .NET way.</summary>
public static class GrantClientServiceCollectionExtensions
{
    /// <summary>
    /// Adds <see cref="GrantClient"/> over an Orleans client that is configured elsewhere
    /// (<c>UseOrleansClient</c>), resolvable as <see cref="GrantClient"/> and as <see cref="IGrantClient"/>
    /// (one instance), logging through <see cref="ILogger{TCategoryName}"/> when logging is registered.
    /// </summary>
    public static IServiceCollection AddGrantClient(this IServiceCollection services)
    {
        services.TryAddSingleton(sp => new GrantClient(sp.GetRequiredService<IClusterClient>(), sp.GetService<TimeProvider>(), sp.GetService<ILogger<GrantClient>>(), sp.GetService<ICallerTokenSource>()));
        services.TryAddSingleton<IGrantClient>(sp => sp.GetRequiredService<GrantClient>());
        return services;
    }

    /// <summary>
    /// Adds an Orleans client that connects to a GrantSilo silo on this machine (the embedded
    /// default), and <see cref="GrantClient"/>.
    /// </summary>
    public static IHostApplicationBuilder AddGrantSiloLocalClient(this IHostApplicationBuilder builder, Action<GrantClientOptions>? configure = null)
    {
        var options = new GrantClientOptions();
        builder.Configuration.GetSection(GrantClientOptions.SectionName).Bind(options);
        configure?.Invoke(options);
        var errors = new List<ValidationResult>();
        if (!Validator.TryValidateObject(options, new ValidationContext(options), errors, validateAllProperties: true))
        {
            throw new OptionsValidationException(GrantClientOptions.SectionName, typeof(GrantClientOptions), errors.Select(e => $"{GrantClientOptions.SectionName}: {e.ErrorMessage}"));
        }
        var tls = LoadTls(options);
        builder.UseOrleansClient(client =>
        {
            client.UseLocalhostClustering(options.GatewayPort, options.ServiceId, options.ClusterId);
            if (tls is not null)
            {
                client.UseGrantSiloTls(tls);
            }
        });
        builder.Services.AddGrantClient();
        return builder;
    }

    /// <summary>
    /// Adds an Orleans client configured from <c>GrantSilo:Client</c> (then <paramref name="configure"/>),
    /// and <see cref="GrantClient"/>. With <c>GrantSilo:Client:Gateways</c> it connects to exactly those
    /// gateways; otherwise <paramref name="discovery"/> configures how the client finds gateways (for
    /// example the Azure Table membership table: <c>AddGrantSiloAzureTableClient</c> passes it); without
    /// either it connects to a silo on this machine. Gateways beyond loopback, or found by <paramref name="discovery"/>,
    /// are refused unless <c>GrantSilo:Client:Tls:Enabled</c> is true: the caller's token never crosses the network in the clear.
    /// </summary>
    public static IHostApplicationBuilder AddGrantSiloClient(this IHostApplicationBuilder builder, Action<GrantClientOptions>? configure = null, Action<IClientBuilder>? discovery = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var options = new GrantClientOptions();
        builder.Configuration.GetSection(GrantClientOptions.SectionName).Bind(options);
        configure?.Invoke(options);
        var errors = new List<string>();
        var results = new List<ValidationResult>();
        if (!Validator.TryValidateObject(options, new ValidationContext(options), results, validateAllProperties: true))
        {
            errors.AddRange(results.Select(e => $"{GrantClientOptions.SectionName}: {e.ErrorMessage}"));
        }
        var gateways = new List<IPEndPoint>();
        foreach (var gateway in options.Gateways)
        {
            if (IPEndPoint.TryParse(gateway, out var endpoint) && endpoint.Port > 0)
            {
                gateways.Add(endpoint);
            }
            else
            {
                errors.Add($"{GrantClientOptions.SectionName}:Gateways: '{gateway}' is not an IP address and port such as 127.0.0.1:30000.");
            }
        }
        var provider = builder.Configuration["GrantSilo:Storage:Provider"];
        if (gateways.Count == 0 && discovery is null && provider is not null && !string.Equals(provider, "Embedded", StringComparison.OrdinalIgnoreCase))
        {
            // Never fall back to a silo on this machine when the configuration names a cluster elsewhere.
            errors.Add(string.Equals(provider, "AzureTable", StringComparison.OrdinalIgnoreCase)
                ? "GrantSilo:Storage:Provider is 'AzureTable': find the gateways with AddGrantSiloAzureTableClient (GrantSilo.Persistence.AzureTables), or list them in GrantSilo:Client:Gateways."
                : $"GrantSilo:Storage:Provider '{provider}' is not known. Use 'Embedded' (a silo on this machine) or 'AzureTable' (with AddGrantSiloAzureTableClient).");
        }
        errors.AddRange(options.Tls.Validate(GrantSiloTlsOptions.ClientSectionName, GrantSiloTlsRole.Client));
        // Every call carries its caller's bearer token (and an Authorize its credential's), so a connection that can leave
        // this machine is TLS, checked against the silos' CA: never plain, where anyone on the path reads the tokens and
        // anyone who answers at the address is taken for the cluster.
        if (options.Tls.Enabled != true)
        {
            var remote = gateways.Where(g => !IPAddress.IsLoopback(g.Address)).Select(g => g.ToString()).ToList();
            if (remote.Count > 0)
            {
                errors.Add($"{GrantClientOptions.SectionName}:Gateways lists {string.Join(", ", remote)}, beyond this machine, but TLS is off: " +
                    $"set {GrantSiloTlsOptions.ClientSectionName}:Enabled=true and {GrantSiloTlsOptions.ClientSectionName}:CaFile to the CA that signs the silos' certificates " +
                    "(without TLS every caller's token would cross the network in the clear). Only gateways on loopback may be reached without it.");
            }
            else if (gateways.Count == 0 && discovery is not null)
            {
                errors.Add($"The gateways are found by discovery, so they may be beyond this machine, but TLS is off: set {GrantSiloTlsOptions.ClientSectionName}:Enabled=true " +
                    $"and {GrantSiloTlsOptions.ClientSectionName}:CaFile to the CA that signs the silos' certificates (without TLS every caller's token would cross the network in the clear).");
            }
        }
        if (errors.Count > 0)
        {
            throw new OptionsValidationException(GrantClientOptions.SectionName, typeof(GrantClientOptions), errors);
        }
        var tls = LoadTls(options);

        builder.UseOrleansClient(client =>
        {
            if (gateways.Count > 0)
            {
                client.UseStaticClustering([.. gateways]);
            }
            else if (discovery is not null)
            {
                discovery(client);
            }
            else
            {
                client.UseLocalhostClustering(options.GatewayPort);
            }
            client.Configure<Orleans.Configuration.ClusterOptions>(o =>
            {
                o.ClusterId = options.ClusterId;
                o.ServiceId = options.ServiceId;
            });
            if (options.GatewayListRefreshPeriod is { } refresh)
            {
                client.Configure<Orleans.Configuration.GatewayOptions>(o => o.GatewayListRefreshPeriod = refresh);
            }
            if (options.ResponseTimeout is { } timeout)
            {
                client.Configure<Orleans.Configuration.ClientMessagingOptions>(o => o.ResponseTimeout = timeout);
            }
            if (tls is not null)
            {
                client.UseGrantSiloTls(tls);
            }
        });
        builder.Services.AddGrantClient();
        return builder;
    }

    // The client's certificates, loaded now so a missing or wrong file stops start-up naming the key; null when TLS is off.
    private static GrantSiloTlsCredentials? LoadTls(GrantClientOptions options) =>
        options.Tls.Enabled == true ? GrantSiloTlsCredentials.Load(options.Tls, GrantSiloTlsOptions.ClientSectionName, GrantSiloTlsRole.Client) : null;
}
