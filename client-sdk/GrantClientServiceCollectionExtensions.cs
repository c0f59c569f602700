using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
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
}

/// <summary>Registers the GrantSilo client the usual .NET way.</summary>
public static class GrantClientServiceCollectionExtensions
{
    /// <summary>
    /// Adds <see cref="GrantClient"/> over an Orleans client that is configured elsewhere
    /// (<c>UseOrleansClient</c>).
    /// </summary>
    public static IServiceCollection AddGrantClient(this IServiceCollection services)
    {
        services.TryAddSingleton(sp => new GrantClient(sp.GetRequiredService<IClusterClient>(), sp.GetService<TimeProvider>()));
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
}
