using GrantSilo.Hosting;
using GrantSilo.Testing.Tls;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace GrantSilo.EndToEnd.Tests;

/// <summary>
/// The SDK's client settings (<c>GrantSilo:Client</c>): every call carries its caller's bearer token, so a client never
/// reaches a gateway beyond this machine without TLS. Checked when the client is configured, before anything connects.
/// </summary>
public sealed class ClientOptionsTests
{
    private static IHostApplicationBuilder Builder(Dictionary<string, string?> settings)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Configuration.AddInMemoryCollection(settings);
        return builder;
    }

    [Theory]
    [InlineData("192.0.2.10:30000")]
    [InlineData("[2001:db8::10]:30000")]
    public void StaticGatewayBeyondLoopback_WithoutTls_IsRefused_NamingTheTlsKeys(string gateway)
    {
        var builder = Builder(new() { ["GrantSilo:Client:Gateways:0"] = "127.0.0.1:30000", ["GrantSilo:Client:Gateways:1"] = gateway });

        var error = Assert.Throws<OptionsValidationException>(() => builder.AddGrantSiloClient());

        Assert.Contains(gateway, error.Message, StringComparison.Ordinal);
        Assert.Contains("GrantSilo:Client:Tls:Enabled=true", error.Message, StringComparison.Ordinal);
        Assert.Contains("GrantSilo:Client:Tls:CaFile", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void StaticGatewayBeyondLoopback_WithTlsExplicitlyOff_IsRefused()
    {
        var builder = Builder(new() { ["GrantSilo:Client:Gateways:0"] = "192.0.2.10:30000", ["GrantSilo:Client:Tls:Enabled"] = "false" });

        var error = Assert.Throws<OptionsValidationException>(() => builder.AddGrantSiloClient());

        Assert.Contains("TLS is off", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void GatewaysFoundByDiscovery_WithoutTls_AreRefused()
    {
        var builder = Builder([]);

        var error = Assert.Throws<OptionsValidationException>(() => builder.AddGrantSiloClient(discovery: client => client.UseStaticClustering(new System.Net.IPEndPoint(System.Net.IPAddress.Parse("192.0.2.10"), 30000))));

        Assert.Contains("found by discovery", error.Message, StringComparison.Ordinal);
        Assert.Contains("GrantSilo:Client:Tls:Enabled=true", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void LoopbackGateways_WithoutTls_AndRemoteGatewaysWithTls_AreAccepted()
    {
        Builder(new() { ["GrantSilo:Client:Gateways:0"] = "127.0.0.1:30000", ["GrantSilo:Client:Gateways:1"] = "[::1]:30001" }).AddGrantSiloClient();
        Builder([]).AddGrantSiloClient();
        Builder(new()
        {
            ["GrantSilo:Client:Gateways:0"] = "192.0.2.10:30000",
            ["GrantSilo:Client:Tls:Enabled"] = "true",
            ["GrantSilo:Client:Tls:CaFile"] = TestCertificates.Shared.Ca,
        }).AddGrantSiloClient();
    }
}
