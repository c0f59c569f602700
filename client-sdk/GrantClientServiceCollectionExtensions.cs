using System.ComponentModel.DataAnnotations;
using System.Net;
using GrantSilo.Persistence.AzureTables;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace GrantSilo.Client;

/// <summary>How a GrantSilo client finds the cluster. Bound from <c>GrantSilo:Client</c>.</summary>
public sealed class GrantClientOptions
{
    /// <summary>The configuration section.</summary>
    public const string SectionName = "GrantSilo:Client";

    /// <summary>The gateway port of a silo on this machine (the embedded default).</summary>
    [Range(1, 65535)]
    public int GatewayPort { get; set; } = 30000;

    /// <summary>The Orleans cluster id.</summary>
    [Required]
    public string ClusterId { get; set; } = "grantsilo";

    /// <summary>The Orleans service id.</summary>
    [Required]
    public string ServiceId { get; set; } = "grantsilo";

    /// <summary>
    /// Fixed gateways as <c>host:port</c> (for example <c>127.0.0.1:30001</c>). When set, the client uses
    /// exactly these and ignores the membership table; when empty, <see cref="GrantClientServiceCollectionExtensions.AddGrantSiloClient"/>
    /// finds gateways in storage (<c>GrantSilo:Storage:Provider=AzureTable</c>) or on this machine.
    /// </summary>
    public List<string> Gateways { get; set; } = [];

    /// <summary>How long the client waits for any one call before failing it (Orleans' default when unset).</summary>
    public TimeSpan? ResponseTimeout { get; set; }
}

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
        services.TryAddSingleton(sp => new GrantClient(sp.GetRequiredService<IClusterClient>(), sp.GetService<TimeProvider>(), sp.GetService<ILogger<GrantClient>>()));
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
        builder.UseOrleansClient(client => client.UseLocalhostClustering(options.GatewayPort, options.ServiceId, options.ClusterId));
        builder.Services.AddGrantClient();
        return builder;
    }

    /// <summary>
    /// Adds an Orleans client configured from <c>GrantSilo:Client</c> and <c>GrantSilo:Storage</c>, and
    /// <see cref="GrantClient"/>. With <c>GrantSilo:Client:Gateways</c> it connects to exactly those
    /// gateways; otherwise, with <c>GrantSilo:Storage:Provider=AzureTable</c>, it finds the silos in the
    /// Azure Table membership table (<c>GrantSilo:Storage:ConnectionString</c> and the rest of that
    /// section, as the silos use it); otherwise it connects to a silo on this machine.
    /// </summary>
    public static IHostApplicationBuilder AddGrantSiloClient(this IHostApplicationBuilder builder, Action<GrantClientOptions>? configure = null)
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
        var storage = builder.Configuration.GetSection(AzureTableGrantConfiguration.SectionName);
        var provider = storage["Provider"] ?? "Embedded";
        var useAzure = string.Equals(provider, "AzureTable", StringComparison.OrdinalIgnoreCase);
        if (!useAzure && !string.Equals(provider, "Embedded", StringComparison.OrdinalIgnoreCase))
        {
            errors.Add($"{AzureTableGrantConfiguration.SectionName}:Provider '{provider}' is not known. Use 'Embedded' (a silo on this machine) or 'AzureTable' (find silos in the Azure Table membership table).");
        }
        if (errors.Count > 0)
        {
            throw new OptionsValidationException(GrantClientOptions.SectionName, typeof(GrantClientOptions), errors);
        }

        builder.UseOrleansClient(client =>
        {
            if (gateways.Count > 0)
            {
                client.UseStaticClustering([.. gateways]);
            }
            else if (useAzure)
            {
                client.UseAzureTableGrantClustering(storage);
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
            if (options.ResponseTimeout is { } timeout)
            {
                client.Configure<Orleans.Configuration.ClientMessagingOptions>(o => o.ResponseTimeout = timeout);
            }
        });
        builder.Services.AddGrantClient();
        return builder;
    }
}
