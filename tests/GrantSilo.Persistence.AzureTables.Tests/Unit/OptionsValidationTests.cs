using GrantSilo.Testing.Azurite;
using Microsoft.Extensions.FileProviders;
using Microsoft.Extensions.Hosting;

namespace GrantSilo.Persistence.AzureTables.Tests.Unit;

public sealed class OptionsValidationTests
{
    private const string DevConnectionString = "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=" + AzuriteProcess.AccountKey + ";TableEndpoint=http://127.0.0.1:10002/devstoreaccount1;";
    private const string RealConnectionString = "DefaultEndpointsProtocol=https;AccountName=grantsiloprod;AccountKey=c2VjcmV0;EndpointSuffix=core.windows.net";

    private static IReadOnlyList<string> Validate(AzureTableGrantOptions options, string environment = "Production")
        => AzureTableOptionsValidator.Validate(options, "the grain storage", new Environment(environment));

    [Fact]
    public void Validate_NoConnection_SaysWhichKeysToSet()
    {
        var error = Assert.Single(Validate(new AzureTableGrantOptions()));

        Assert.StartsWith("No Azure Table connection for the grain storage: set GrantSilo:Storage:ConnectionString, or GrantSilo:Storage:ServiceUri", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_ServiceUriWithoutCredential_AsksForATokenCredential()
    {
        var error = Assert.Single(Validate(new AzureTableGrantOptions { ServiceUri = new Uri("https://acct.table.core.windows.net/") }));

        Assert.Contains("TokenCredential", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_BothConnectionStringAndServiceUri_IsRejectedAsAmbiguous()
    {
        var error = Assert.Single(Validate(new AzureTableGrantOptions { ConnectionString = RealConnectionString, ServiceUri = new Uri("https://acct.table.core.windows.net/") }));

        Assert.Contains("Ambiguous", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_DevelopmentAccountInProduction_IsRefused()
    {
        var error = Assert.Single(Validate(new AzureTableGrantOptions { ConnectionString = DevConnectionString }));

        Assert.Contains("AllowDevelopmentStorage=true", error, StringComparison.Ordinal);
        Assert.DoesNotContain(AzuriteProcess.AccountKey, error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("UseDevelopmentStorage=true")]
    [InlineData("DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=other;TableEndpoint=http://127.0.0.1:1/devstoreaccount1;")]
    public void Validate_OtherFormsOfTheDevelopmentAccountInProduction_AreRefused(string connectionString)
    {
        Assert.Single(Validate(new AzureTableGrantOptions { ConnectionString = connectionString }));
    }

    [Fact]
    public void Validate_DevelopmentAccountInDevelopmentEnvironment_IsAllowed()
    {
        Assert.Empty(Validate(new AzureTableGrantOptions { ConnectionString = DevConnectionString }, "Development"));
    }

    [Fact]
    public void Validate_DevelopmentAccountExplicitlyAllowed_IsAllowedInProduction()
    {
        Assert.Empty(Validate(new AzureTableGrantOptions { ConnectionString = DevConnectionString, AllowDevelopmentStorage = true }));
    }

    [Fact]
    public void Validate_DevelopmentAccountExplicitlyRefused_IsRefusedEvenInDevelopment()
    {
        Assert.Single(Validate(new AzureTableGrantOptions { ConnectionString = DevConnectionString, AllowDevelopmentStorage = false }, "Development"));
    }

    [Fact]
    public void Validate_RealAccount_IsAccepted()
    {
        Assert.Empty(Validate(new AzureTableGrantOptions { ConnectionString = RealConnectionString }));
    }

    [Theory]
    [InlineData("ab")]
    [InlineData("1table")]
    [InlineData("has-dash")]
    public void Validate_InvalidTableName_IsRejected(string tableName)
    {
        var error = Assert.Single(Validate(new AzureTableGrantOptions { ConnectionString = RealConnectionString, GrainStateTableName = tableName }));

        Assert.Contains(tableName, error, StringComparison.Ordinal);
    }

    [Fact]
    public void ValidateConfiguration_Invalid_ThrowsOrleansConfigurationException()
    {
        var validator = new AzureTableOptionsValidator(new AzureTableGrantOptions(), "the grain storage", null);

        var error = Assert.Throws<OrleansConfigurationException>(validator.ValidateConfiguration);

        Assert.Contains("No Azure Table connection", error.Message, StringComparison.Ordinal);
    }

    private sealed class Environment(string name) : IHostEnvironment
    {
        public string EnvironmentName { get; set; } = name;

        public string ApplicationName { get; set; } = "tests";

        public string ContentRootPath { get; set; } = AppContext.BaseDirectory;

        public IFileProvider ContentRootFileProvider { get; set; } = new NullFileProvider();
    }
}
