using System.ComponentModel.DataAnnotations;
using Azure.Core;
using GrantSilo.EndToEnd.TestSilo;
using GrantSilo.Grains.Hosting;
using GrantSilo.Persistence.AzureTables;
using GrantSilo.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

// The silo host's AzureTable profile, composed from silo-host's own code (GrantSiloSiloProfiles) with the same
// configuration keys and start-up banner, plus test hooks switched on by environment variables. The hooks live
// here rather than in silo-host so that the product executable has no test-only code path at all; the tests run
// this program only for the silo whose storage traffic they steer, and the real silo-host for the others.
var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { Args = args, ContentRootPath = AppContext.BaseDirectory });

var silo = Bind<SiloHostOptions>(builder.Configuration, SiloHostOptions.SectionName);
var storage = Bind<StorageSelectionOptions>(builder.Configuration, StorageSelectionOptions.SectionName);
if (!string.Equals(storage.Provider, StorageSelectionOptions.AzureTable, StringComparison.OrdinalIgnoreCase))
{
    throw new OptionsValidationException(StorageSelectionOptions.SectionName, typeof(StorageSelectionOptions),
        [$"The test silo runs only the AzureTable profile; set GrantSilo:Storage:Provider=AzureTable (it is '{storage.Provider}')."]);
}

builder.UseOrleans(orleans =>
{
    Action<AzureTableGrantOptions>? hook = null;
    if (Environment.GetEnvironmentVariable(HeldWritePolicy.ControlDirectoryVariable) is { Length: > 0 } directory)
    {
        var hold = new HeldWritePolicy(directory);
        // Added to the storage client's pipeline after the configuration binding (it holds grain state writes only).
        hook = options =>
        {
            var earlier = options.ConfigureTableClientOptions;
            options.ConfigureTableClientOptions = client =>
            {
                earlier?.Invoke(client);
                client.AddPolicy(hold, HttpPipelinePosition.PerCall);
            };
        };
        Console.WriteLine($"TestSilo: grain state writes can be held through {directory}");
    }
    orleans.UseGrantSiloAzureTableProfile(silo, builder.Configuration, hook);
});
builder.Services.AddHostedService(sp => StartupBanner.Create(sp, silo, StorageSelectionOptions.AzureTable));

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
