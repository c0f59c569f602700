using System.Globalization;
using GrantSilo.Client;
using GrantSilo.EndToEnd.Tests.Support;
using GrantSilo.Hosting;
using GrantSilo.Testing.Tls;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Xunit.Abstractions;

namespace GrantSilo.EndToEnd.Tests;

/// <summary>TLS on real silo processes: who may connect, and what stops a silo from starting.</summary>
public sealed class TlsProcessTests(ITestOutputHelper output) : IDisposable
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(90);
    private static readonly TestCertificates Ours = TestCertificates.Shared;
    private readonly TestCertificates _theirs = TestCertificates.Create(Path.Combine(Path.GetTempPath(), $"grantsilo-other-ca-{Guid.NewGuid():N}"), "Another CA");

    public void Dispose() => Directory.Delete(_theirs.Folder, recursive: true);

    [Theory]
    [InlineData("no certificates", "GrantSilo:Tls:CertificateFile")]
    [InlineData("TLS switched off", "GrantSilo:Tls:Enabled=false")]
    public async Task AzureTableProfile_WithoutTls_RefusesToStart_SayingHowToMakeCertificates(string what, string named)
    {
        var settings = new Dictionary<string, string>(MultiSiloSettings.Silo("DefaultEndpointsProtocol=http;AccountName=a;AccountKey=a2V5;TableEndpoint=http://127.0.0.1:9/a;", Ports.Free(), Ports.Free()));
        foreach (var key in settings.Keys.Where(k => k.StartsWith("GrantSilo__Tls__", StringComparison.Ordinal)).ToList())
        {
            settings.Remove(key);
        }
        foreach (var (key, value) in TestIdentity.Shared.SiloEnvironment())
        {
            settings[key] = value;
        }
        if (what == "TLS switched off")
        {
            settings["GrantSilo__Tls__Enabled"] = "false";
        }
        await using var silo = ChildProcess.Start("no-tls", ChildProcess.BuiltDll("SiloHostDll"), settings);

        Assert.True(await silo.WaitForExitAsync(Deadline), $"The silo started with {what}.");
        Assert.NotEqual(0, silo.ExitCode);
        Assert.Contains(named, silo.Output, StringComparison.Ordinal);
        Assert.Contains("scripts/dev-certs.sh", silo.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task EmbeddedSiloWithTls_ServesATlsClient_AndRefusesPlainClientsAndStrangers()
    {
        var (siloPort, gatewayPort) = (Ports.Free(), Ports.Free());
        await using var silo = ChildProcess.Start("embedded-tls", ChildProcess.BuiltDll("SiloHostDll"), new Dictionary<string, string>(TestIdentity.Shared.SiloEnvironment())
        {
            ["GrantSilo__Silo__SiloPort"] = siloPort.ToString(CultureInfo.InvariantCulture),
            ["GrantSilo__Silo__GatewayPort"] = gatewayPort.ToString(CultureInfo.InvariantCulture),
            ["GrantSilo__Tls__Enabled"] = "true",
            ["GrantSilo__Tls__CertificateFile"] = Ours.SiloCertificate,
            ["GrantSilo__Tls__KeyFile"] = Ours.SiloKey,
            ["GrantSilo__Tls__CaFile"] = Ours.Ca,
            ["GrantSilo__Tls__AllowedPeerNames__0"] = "silo",
        });
        try
        {
            await silo.WaitForOutputAsync("GrantSilo silo ready", Deadline);
            Assert.Contains("GrantSilo TLS: mutual TLS on silo links", silo.Output, StringComparison.Ordinal);

            // A client trusting the silos' CA, presenting its own certificate, works as usual.
            using (var client = await StartClientAsync(gatewayPort, new()
            {
                ["GrantSilo:Client:Tls:Enabled"] = "true",
                ["GrantSilo:Client:Tls:CaFile"] = Ours.Ca,
                ["GrantSilo:Client:Tls:CertificateFile"] = Ours.ClientCertificate,
                ["GrantSilo:Client:Tls:KeyFile"] = Ours.ClientKey,
            }))
            {
                var grants = new Scenario(new ActingGrantClient(client.Services.GetRequiredService<GrantClient>(), TestIdentity.Shared), settling: TimeSpan.FromSeconds(60));
                await TestCatalogs.PublishPermissiveAsync(grants.Client, TimeSpan.FromSeconds(60));
                var agent = await grants.AgentAsync("worker", Scenario.Scope(0, "repo:read:acme/*"));
                var task = await grants.RootTaskAsync(agent, Scenario.Scope(0, "repo:read:acme/*"), TimeSpan.FromMinutes(5));
                Assert.True((await grants.AuthorizeAsync(await grants.IssueAsync(agent, task.TaskId))).IsAllowed);
                await client.StopAsync();
            }

            // Without TLS the gateway never gets a handshake it accepts.
            await AssertRefusedAsync(silo, gatewayPort, [], "Authentication failed");
            // A client that trusts another CA refuses the silo (and the silo sees the handshake fail).
            await AssertRefusedAsync(silo, gatewayPort, new() { ["GrantSilo:Client:Tls:Enabled"] = "true", ["GrantSilo:Client:Tls:CaFile"] = _theirs.Ca }, "Authentication failed");
            // A client presenting a certificate of another CA is refused by the gateway, which says why.
            await AssertRefusedAsync(silo, gatewayPort, new()
            {
                ["GrantSilo:Client:Tls:Enabled"] = "true",
                ["GrantSilo:Client:Tls:CaFile"] = Ours.Ca,
                ["GrantSilo:Client:Tls:CertificateFile"] = _theirs.ClientCertificate,
                ["GrantSilo:Client:Tls:KeyFile"] = _theirs.ClientKey,
            }, "Refused the TLS peer of a client gateway: certificate 'CN=grantsilo-client'");
            await silo.StopAsync(TimeSpan.FromSeconds(30));
        }
        finally
        {
            output.WriteLine($"--- silo output ---\n{silo.Output}");
        }
    }

    [Fact]
    public async Task ASiloWithACertificateOfAnotherCa_CannotJoinTheCluster()
    {
        await using var cluster = await ProcessCluster.StartAsync(1, output);
        var member = cluster.Silos[0];
        var (siloPort, gatewayPort) = (Ports.Free(), Ports.Free());
        var settings = new Dictionary<string, string>(MultiSiloSettings.Silo(cluster.Azurite.ConnectionString, siloPort, gatewayPort))
        {
            // Consistent in itself (its certificate chains to the CA it trusts), but not the cluster's CA.
            ["GrantSilo__Tls__CertificateFile"] = _theirs.SiloCertificate,
            ["GrantSilo__Tls__KeyFile"] = _theirs.SiloKey,
            ["GrantSilo__Tls__CaFile"] = _theirs.Ca,
            // Give up joining soon rather than after Orleans' five minutes.
            ["GrantSilo__Membership__MaxJoinAttemptTime"] = "00:00:15",
        };
        foreach (var (key, value) in TestIdentity.Shared.SiloEnvironment())
        {
            settings[key] = value;
        }
        await using var stranger = ChildProcess.Start("stranger", ChildProcess.BuiltDll("SiloHostDll"), settings);
        try
        {
            await member.Process.WaitForOutputAsync("Refused the TLS peer of a silo link", Deadline);
            Assert.True(await stranger.WaitForExitAsync(Deadline), "The silo with a foreign certificate kept running.");
            Assert.NotEqual(0, stranger.ExitCode);
            Assert.DoesNotContain("GrantSilo silo started", stranger.Output, StringComparison.Ordinal);
            Assert.NotEqual(SiloStatus.Active, await cluster.StatusAsync(new SiloNode("stranger", siloPort, gatewayPort, stranger)));
            Assert.Equal(SiloStatus.Active, await cluster.StatusAsync(member));
        }
        finally
        {
            output.WriteLine($"--- stranger output ---\n{stranger.Output}");
        }
    }

    private static async Task<IHost> StartClientAsync(int gatewayPort, Dictionary<string, string?> settings, CancellationToken cancellationToken = default)
    {
        settings["GrantSilo:Client:GatewayPort"] = gatewayPort.ToString(CultureInfo.InvariantCulture);
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Configuration.AddInMemoryCollection(settings);
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.AddGrantSiloClient();
        var client = builder.Build();
        try
        {
            using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            deadline.CancelAfter(Deadline);
            await client.StartAsync(deadline.Token);
            return client;
        }
        catch
        {
            client.Dispose();
            throw;
        }
    }

    // The Orleans client keeps retrying a gateway it cannot connect to until its start is cancelled, so the refusal is
    // read where it happens, in the silo's log (waiting for that line, not for time); then the start is cancelled and
    // must not have succeeded.
    private static async Task AssertRefusedAsync(ChildProcess silo, int gatewayPort, Dictionary<string, string?> settings, string evidence)
    {
        var before = Occurrences(silo.Output, evidence);
        using var cancellation = new CancellationTokenSource();
        var start = StartClientAsync(gatewayPort, settings, cancellation.Token);
        await Eventually.HoldsAsync(() => Task.FromResult(start.IsCompleted || Occurrences(silo.Output, evidence) > before), Deadline, $"the silo to log '{evidence}'");
        await cancellation.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => start);
        Assert.True(Occurrences(silo.Output, evidence) > before, $"The silo did not log '{evidence}'.");
    }

    private static int Occurrences(string text, string what)
    {
        var count = 0;
        for (var at = text.IndexOf(what, StringComparison.Ordinal); at >= 0; at = text.IndexOf(what, at + what.Length, StringComparison.Ordinal))
        {
            count++;
        }
        return count;
    }
}
