using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using System.ComponentModel.DataAnnotations;
using GrantSilo.Grains.Hosting;
using GrantSilo.SiloHost;
using Microsoft.Extensions.Options;

// Content root is the build output, so appsettings.json is found wherever the host is started from.
var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { Args = args, ContentRootPath = AppContext.BaseDirectory });

var silo = Bind<SiloHostOptions>(builder.Configuration, SiloHostOptions.SectionName);
var storage = Bind<StorageSelectionOptions>(builder.Configuration, StorageSelectionOptions.SectionName);
if (!string.Equals(storage.Provider, "Embedded", StringComparison.OrdinalIgnoreCase))
{
    throw new OptionsValidationException(StorageSelectionOptions.SectionName, typeof(StorageSelectionOptions),
        [$"GrantSilo:Storage:Provider '{storage.Provider}' is not known. Use 'Embedded' (the default)."]);
}

builder.UseOrleans(orleans =>
{
    orleans.UseLocalhostClustering(silo.SiloPort, silo.GatewayPort, serviceId: silo.ServiceId, clusterId: silo.ClusterId);
    orleans.AddMemoryGrainStorage(GrantSiloStorage.Name);
    orleans.UseInMemoryReminderService();
    orleans.AddGrantSilo(options => builder.Configuration.GetSection(GrantSiloOptions.SectionName).Bind(options));
});
builder.Services.AddHostedService(sp => new StartupBanner(sp.GetRequiredService<ILogger<StartupBanner>>(), sp.GetRequiredService<IHostApplicationLifetime>(), silo, storage.Provider));

await builder.Build().RunAsync();

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
