using System.ComponentModel.DataAnnotations;
using GrantSilo.WebConsole;
using GrantSilo.Hosting;
using GrantSilo.Http;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Hosting;

// A container health check: `dotnet GrantSilo.SiloHost.dll --probe ready` asks the running silo's /health/ready.
if (GrantSilo.SiloHost.HealthProbe.IsProbe(args))
{
    return await GrantSilo.SiloHost.HealthProbe.RunAsync(args);
}

// A setting the silo cannot start with ends the process with a sentence saying which and exit code 78 (EX_CONFIG), not a
// crash: nothing has started, so there is nothing to stop.
try
{
    return await RunAsync(args);
}
catch (OptionsValidationException invalid)
{
    await Console.Error.WriteLineAsync($"GrantSilo cannot start: {string.Join(" ", invalid.Failures)}");
    return 78;
}

static async Task<int> RunAsync(string[] args)
{
    // Content root is the build output, so appsettings.json is found wherever the host is started from.
    var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory });

    var silo = Bind<SiloHostOptions>(builder.Configuration, SiloHostOptions.SectionName);
    var storage = Bind<StorageSelectionOptions>(builder.Configuration, StorageSelectionOptions.SectionName);
    var profile = storage.Provider switch
    {
        _ when string.Equals(storage.Provider, StorageSelectionOptions.Embedded, StringComparison.OrdinalIgnoreCase) => StorageSelectionOptions.Embedded,
        _ when string.Equals(storage.Provider, StorageSelectionOptions.AzureTable, StringComparison.OrdinalIgnoreCase) => StorageSelectionOptions.AzureTable,
        _ => throw new OptionsValidationException(StorageSelectionOptions.SectionName, typeof(StorageSelectionOptions),
            [$"GrantSilo:Storage:Provider '{storage.Provider}' is not known. Use 'Embedded' (the default: one silo, in memory) or 'AzureTable' (with GrantSilo:Storage:ConnectionString)."]),
    };

    // The HTTP API, co-hosted: on by default in the embedded profile; a multi-silo deployment turns it on per silo.
    var http = builder.Configuration.GetSection(HttpApiOptions.SectionName).GetValue<bool?>(nameof(HttpApiOptions.Enabled)) ?? profile == StorageSelectionOptions.Embedded;
    // The Orleans Dashboard, for operators, served by the HTTP API: off unless configured.
    var dashboard = GrantSiloDashboard.Configured(builder.Configuration);
    if (dashboard is not null && !http)
    {
        throw new OptionsValidationException(OrleansDashboardOptions.SectionName, typeof(OrleansDashboardOptions),
            [$"{OrleansDashboardOptions.SectionName}:Enabled needs the HTTP API, which is off: set {HttpApiOptions.SectionName}:Enabled=true, or turn the dashboard off."]);
    }

    // The web console, co-hosted under /console beside the HTTP API (whose door and rules it calls through): on by default
    // in the embedded profile with the API, off otherwise.
    var console = GrantSiloConsole.Enabled(builder.Configuration, http && profile == StorageSelectionOptions.Embedded);
    if (console && !http)
    {
        throw new OptionsValidationException(ConsoleOptions.SectionName, typeof(ConsoleOptions),
            [$"{ConsoleOptions.SectionName}:Enabled needs the HTTP API, which is off: set {HttpApiOptions.SectionName}:Enabled=true, or turn the console off."]);
    }

    builder.UseOrleans(orleans =>
    {
        if (profile == StorageSelectionOptions.AzureTable)
        {
            orleans.UseGrantSiloAzureTableProfile(silo, builder.Configuration);
        }
        else
        {
            orleans.UseGrantSiloEmbeddedProfile(silo, builder.Configuration);
        }
        // In Kubernetes only (deploy/kubernetes/): the pod's name and address from the downward API, and dead silos' pods deleted.
        if (builder.Configuration.GetValue<bool>("GrantSilo:Kubernetes:Enabled"))
        {
            orleans.UseKubernetesHosting();
        }
        if (dashboard is not null)
        {
            orleans.AddGrantSiloDashboard(dashboard);
        }
    });
    var telemetry = builder.AddGrantSiloTelemetry();
    // Every silo reports its decisions per second to the cluster, for the console's overview on whichever silo serves it.
    builder.Services.AddGrantSiloDecisionRates();
    if (http)
    {
        builder.AddGrantSiloHttpApi();
        if (console)
        {
            builder.AddGrantSiloConsole();
        }
    }
    else
    {
        if (telemetry.PrometheusPort is not null)
        {
            throw new OptionsValidationException(TelemetryOptions.SectionName, typeof(TelemetryOptions),
                [$"{TelemetryOptions.SectionName}:PrometheusPort needs the HTTP API, which is off: set {HttpApiOptions.SectionName}:Enabled=true, or remove the port."]);
        }
        builder.WithoutHttpApi();
    }
    builder.Services.AddHostedService(sp => StartupBanner.Create(sp, silo, profile));

    var app = builder.Build();
    if (http)
    {
        app.UseGrantSiloHttpApi();
        app.MapGrantSiloTelemetry();
        if (dashboard is not null)
        {
            app.MapGrantSiloDashboard();
        }
        if (console)
        {
            app.UseGrantSiloConsole();
        }
    }
    await app.RunAsync();
    return 0;
}

static T Bind<T>(IConfiguration configuration, string section) where T : new()
{
    var options = new T();
    configuration.GetSection(section).Bind(options);
    var errors = new List<ValidationResult>();
    if (!Validator.TryValidateObject(options!, new ValidationContext(options!), errors, validateAllProperties: true))
    {
        throw new OptionsValidationException(section, typeof(T), errors.Select(e => e.ErrorMessage ?? $"{section} is invalid"));
    }
    return options;
}
