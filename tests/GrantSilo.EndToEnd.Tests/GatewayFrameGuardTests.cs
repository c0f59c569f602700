using System.Buffers.Binary;
using System.Globalization;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using GrantSilo.Client;
using GrantSilo.EndToEnd.Tests.Support;
using GrantSilo.Hosting;
using GrantSilo.Testing.Tls;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Configuration;
using Orleans.Serialization;
using Xunit.Abstractions;

namespace GrantSilo.EndToEnd.Tests;

/// <summary>
/// A message nested deeper than Orleans' reader can follow, sent to a real silo process's gateway by a client that holds
/// no token: the silo closes the connection without reading it and keeps serving. Without the guard the same bytes end
/// the silo process with a stack overflow, which here fails the test instead of ending the test run.
/// </summary>
public sealed class GatewayFrameGuardTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(90);

    private static readonly TestCertificates Certificates = TestCertificates.Shared;

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task ADeeplyNestedBody_FromAClientWithoutAToken_ClosesItsConnection_AndTheSiloServesTheNextClient(bool tls)
    {
        var (siloPort, gatewayPort) = (Ports.Free(), Ports.Free());
        var environment = new Dictionary<string, string>(TestIdentity.Shared.SiloEnvironment())
        {
            ["GrantSilo__Silo__SiloPort"] = siloPort.ToString(CultureInfo.InvariantCulture),
            ["GrantSilo__Silo__GatewayPort"] = gatewayPort.ToString(CultureInfo.InvariantCulture),
            // The least depth the option allows: the SDK's own calls below (publishing a catalog, registering an agent,
            // creating a task, issuing and authorizing) must all still pass the guard.
            ["GrantSilo__Messaging__MaxMessageDepth"] = "16",
        };
        var clientSettings = new Dictionary<string, string?>();
        if (tls)
        {
            // The guard runs inside TLS: it must see, and refuse, the decrypted frame.
            environment["GrantSilo__Tls__Enabled"] = "true";
            environment["GrantSilo__Tls__CertificateFile"] = Certificates.SiloCertificate;
            environment["GrantSilo__Tls__KeyFile"] = Certificates.SiloKey;
            environment["GrantSilo__Tls__CaFile"] = Certificates.Ca;
            environment["GrantSilo__Tls__AllowedPeerNames__0"] = "silo";
            clientSettings["GrantSilo:Client:Tls:Enabled"] = "true";
            clientSettings["GrantSilo:Client:Tls:CaFile"] = Certificates.Ca;
            clientSettings["GrantSilo:Client:Tls:CertificateFile"] = Certificates.ClientCertificate;
            clientSettings["GrantSilo:Client:Tls:KeyFile"] = Certificates.ClientKey;
        }
        await using var silo = ChildProcess.Start(tls ? "gateway-guard-tls" : "gateway-guard", ChildProcess.BuiltDll("SiloHostDll"), environment);
        try
        {
            await silo.WaitForOutputAsync("GrantSilo silo ready", Deadline);
            using var client = await StartClientAsync(gatewayPort, clientSettings);
            var serializer = client.Services.GetRequiredService<Serializer>();

            // About 240 KB of object arrays, each inside the one before: no token, no grain, only the body.
            var body = NestedMessages.NestedObjectArrays(serializer, 60_000);
            using (var raw = new TcpClient())
            {
                await raw.ConnectAsync("127.0.0.1", gatewayPort);
                Stream stream = raw.GetStream();
                if (tls)
                {
                    // A client without a certificate (the gateway asks for none by default), trusting the silos' CA.
                    var secured = new SslStream(stream);
                    await secured.AuthenticateAsClientAsync(new SslClientAuthenticationOptions { TargetHost = "localhost", RemoteCertificateValidationCallback = (_, certificate, _, _) => ChainsToTestCa(certificate) });
                    stream = secured;
                }
                await stream.WriteAsync(Preamble(client.Services));
                await stream.WriteAsync(NestedMessages.Frame(body));

                // The silo answers with its own preamble, then closes the connection: reads end (or fail) well before the
                // deadline, and the silo is still running.
                using var deadline = new CancellationTokenSource(Deadline);
                Assert.True(await ClosedAsync(stream, deadline.Token), "The gateway kept the connection open.");
            }
            await silo.WaitForOutputAsync("a message frame was refused before it was read (TooDeep", Deadline);
            Assert.False(silo.HasExited, "The silo process ended.");

            // A client with a token is served as before, on a fresh connection.
            using var next = await StartClientAsync(gatewayPort, clientSettings);
            var grants = new Scenario(new ActingGrantClient(next.Services.GetRequiredService<GrantClient>(), TestIdentity.Shared), settling: TimeSpan.FromSeconds(60));
            await TestCatalogs.PublishPermissiveAsync(grants.Client, TimeSpan.FromSeconds(60));
            var agent = await grants.AgentAsync("worker", Scenario.Scope(0, "repo:read:acme/*"));
            var task = await grants.RootTaskAsync(agent, Scenario.Scope(0, "repo:read:acme/*"), TimeSpan.FromMinutes(5));
            Assert.True((await grants.AuthorizeAsync(await grants.IssueAsync(agent, task.TaskId))).IsAllowed);
            Assert.False(silo.HasExited, "The silo process ended.");
            await next.StopAsync();
            await client.StopAsync();
            await silo.StopAsync(TimeSpan.FromSeconds(30));
        }
        finally
        {
            output.WriteLine($"--- silo output ---\n{silo.Output}");
        }
    }

    // The preamble a client of this cluster sends first, written with the client's own serializer: Orleans' gateway reads
    // a frame only after a preamble naming a client and the silo's cluster.
    private static byte[] Preamble(IServiceProvider services)
    {
        var type = typeof(ClusterOptions).Assembly.GetType("Orleans.Runtime.Messaging.ConnectionPreamble", throwOnError: true)!;
        var preamble = Activator.CreateInstance(type, nonPublic: true)!;
        type.GetProperty("NetworkProtocolVersion")!.SetValue(preamble, Enum.ToObject(type.GetProperty("NetworkProtocolVersion")!.PropertyType, 1));
        type.GetProperty("NodeIdentity")!.SetValue(preamble, GrainId.Create("sys.client", $"raw-{Guid.NewGuid():N}"));
        type.GetProperty("ClusterId")!.SetValue(preamble, services.GetRequiredService<IOptions<ClusterOptions>>().Value.ClusterId);
        var bytes = services.GetRequiredService<Serializer>().SerializeToArray<object>(preamble);
        var framed = new byte[4 + bytes.Length];
        BinaryPrimitives.WriteInt32LittleEndian(framed, bytes.Length);
        bytes.CopyTo(framed.AsSpan(4));
        return framed;
    }

    private static bool ChainsToTestCa(X509Certificate? certificate)
    {
        if (certificate is null)
        {
            return false;
        }
        using var ca = X509CertificateLoader.LoadCertificateFromFile(Certificates.Ca);
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(ca);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        using var presented = new X509Certificate2(certificate);
        return chain.Build(presented);
    }

    private static async Task<bool> ClosedAsync(Stream stream, CancellationToken cancellation)
    {
        var buffer = new byte[4096];
        try
        {
            while (await stream.ReadAsync(buffer, cancellation) > 0)
            {
            }
            return true;
        }
        catch (IOException)
        {
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    private static async Task<IHost> StartClientAsync(int gatewayPort, Dictionary<string, string?> settings)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>(settings) { ["GrantSilo:Client:GatewayPort"] = gatewayPort.ToString(CultureInfo.InvariantCulture) });
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.AddGrantSiloClient();
        var client = builder.Build();
        try
        {
            using var deadline = new CancellationTokenSource(Deadline);
            await client.StartAsync(deadline.Token);
            return client;
        }
        catch
        {
            client.Dispose();
            throw;
        }
    }
}
