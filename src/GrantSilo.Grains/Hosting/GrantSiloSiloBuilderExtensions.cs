using System.ComponentModel.DataAnnotations;
using GrantSilo.Grains.Decisions;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Orleans.Serialization;
using Orleans.Storage;

namespace GrantSilo.Grains.Hosting;

/// <summary>Adds GrantSilo's grains and services to a silo.</summary>
public static class GrantSiloSiloBuilderExtensions
{
    /// <summary>
    /// Adds GrantSilo: lifecycle options (validated at start-up), the decision clock, the policy and
    /// audit seams with their embedded defaults. Storage and reminders are configured separately.
    /// </summary>
    public static ISiloBuilder AddGrantSilo(this ISiloBuilder builder, Action<GrantSiloOptions>? configure = null)
    {
        builder.Services.AddGrantSiloCore(configure);
        return builder;
    }

    internal static IServiceCollection AddGrantSiloCore(this IServiceCollection services, Action<GrantSiloOptions>? configure)
    {
        var options = services.AddOptions<GrantSiloOptions>();
        if (configure is not null)
        {
            options.Configure(configure);
        }
        options.ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<GrantSiloOptions>, GrantSiloOptionsValidator>());
        services.TryAddKeyedSingleton(GrantSiloTime.ServiceKey, TimeProvider.System);
        // Grain state is stored with the Orleans serializer: its stable [Id]s and [Alias]es survive
        // renames, and it round-trips immutable contract types (Scope) that JSON cannot rebuild.
        services.AddSingleton<IGrainStorageSerializer>(sp => new OrleansGrainStorageSerializer(sp.GetRequiredService<Serializer>()));
        services.TryAddSingleton<IAccessPolicy, ScopeOnlyAccessPolicy>();
        services.TryAddSingleton<ISiloLease, SingleSiloLease>();
        services.TryAddSingleton<RecentDecisionLog>();
        services.TryAddSingleton<IDecisionAuditor>(sp => sp.GetRequiredService<RecentDecisionLog>());
        return services;
    }

    private sealed class GrantSiloOptionsValidator : IValidateOptions<GrantSiloOptions>
    {
        public ValidateOptionsResult Validate(string? name, GrantSiloOptions options)
        {
            var results = new List<ValidationResult>();
            return Validator.TryValidateObject(options, new ValidationContext(options), results, validateAllProperties: true)
                ? ValidateOptionsResult.Success
                : ValidateOptionsResult.Fail(results.Select(r => r.ErrorMessage ?? "invalid GrantSilo option"));
        }
    }
}
