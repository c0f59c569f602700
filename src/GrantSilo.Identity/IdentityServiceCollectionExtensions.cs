using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace GrantSilo.Identity;

/// <summary>Registers GrantSilo's caller authentication.</summary>
public static class IdentityServiceCollectionExtensions
{
    /// <summary>
    /// Registers <see cref="ICallerAuthenticator"/> (a <see cref="CallerAuthenticator"/>) with options bound from
    /// <c>GrantSilo:Identity</c> and validated at start, and the development issuer when it is enabled.
    /// </summary>
    public static IServiceCollection AddGrantSiloIdentity(this IServiceCollection services, IConfiguration configuration)
        => services.AddGrantSiloIdentity(options => configuration.GetSection(IdentityOptions.SectionName).Bind(options));

    /// <summary>Registers <see cref="ICallerAuthenticator"/> with options set by <paramref name="configure"/>.</summary>
    public static IServiceCollection AddGrantSiloIdentity(this IServiceCollection services, Action<IdentityOptions> configure)
    {
        services.AddOptions<IdentityOptions>().Configure(configure).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<IdentityOptions>, IdentityOptionsValidator>());
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton(sp =>
        {
            var options = sp.GetRequiredService<IOptions<IdentityOptions>>().Value;
            var environment = sp.GetService<IHostEnvironment>()?.EnvironmentName
                ?? Environment.GetEnvironmentVariable("DOTNET_ENVIRONMENT")
                ?? Environment.GetEnvironmentVariable("ASPNETCORE_ENVIRONMENT");
            DevelopmentIssuer.EnsureAllowed(environment, options.Development);
            return new DevelopmentIssuer(options.Development, options.Audience, sp.GetRequiredService<ILogger<DevelopmentIssuer>>());
        });
        services.TryAddSingleton(sp =>
        {
            var options = sp.GetRequiredService<IOptions<IdentityOptions>>();
            return new CallerAuthenticator(
                options,
                sp.GetRequiredService<TimeProvider>(),
                sp.GetRequiredService<ILoggerFactory>(),
                options.Value.Development.Enabled ? sp.GetRequiredService<DevelopmentIssuer>() : null,
                sp.GetService<JwksHttpClient>());
        });
        services.TryAddSingleton<ICallerAuthenticator>(sp => sp.GetRequiredService<CallerAuthenticator>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, IdentityStartup>());
        return services;
    }

    /// <summary>Builds the authenticator when the host starts, so a refused development issuer or bad key file stops the start.</summary>
    private sealed class IdentityStartup(IServiceProvider services) : IHostedService
    {
        public Task StartAsync(CancellationToken cancellationToken)
        {
            _ = services.GetRequiredService<ICallerAuthenticator>();
            return Task.CompletedTask;
        }

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
