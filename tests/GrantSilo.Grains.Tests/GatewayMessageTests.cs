using Microsoft.Extensions.DependencyInjection;
using Orleans.TestingHost;
using GrantSilo.GrainInterfaces;
using GrantSilo.Grains.Hosting;

namespace GrantSilo.Grains.Tests;

/// <summary>
/// A silo's gateway reads a message's header (the request context, with the caller's token) from any client that
/// connects, before any token is checked. Orleans' own bound is 10 MiB; GrantSilo's is
/// <see cref="GrantSiloMessagingOptions.MaxMessageHeaderBytes"/> (32 KiB), past which the connection is dropped.
/// </summary>
[Collection(AbuseClusterCollection.Name)]
public class GatewayMessageTests(AbuseClusterFixture fixture)
{
    [Fact]
    public async Task AHeaderLargerThanTheBound_IsNeverRead_AndTheSiloServesTheNextCall()
    {
        var grain = fixture.Cluster.Client.GetGrain<ITaskGrain>($"t-{Guid.NewGuid():N}");
        RequestContext.Set("padding", new byte[new GrantSiloMessagingOptions().MaxMessageHeaderBytes + 1]);
        try
        {
            // Read, it would reach the door and be refused as Unauthenticated; it is never read.
            await Assert.ThrowsAnyAsync<Exception>(() => grain.GetAsync());
        }
        finally
        {
            RequestContext.Clear();
        }

        // A header within the bound is read and answered (the client reconnects).
        RequestContext.Set("padding", new byte[16 * 1024]);
        try
        {
            var answered = await Eventually.LastAsync(async () =>
            {
                try
                {
                    return (await grain.GetAsync()).Error?.Code;
                }
                catch (Exception)
                {
                    return (GrantErrorCode?)null;
                }
            }, code => code is not null);
            Assert.Equal(GrantErrorCode.Unauthenticated, answered);
        }
        finally
        {
            RequestContext.Clear();
        }
    }
    /// <summary>
    /// Orleans files activations and directory entries under the hash code a message carries for its target's id, and
    /// compares ids by their bytes: a client that sent an existing grain's id with another hash reached a second
    /// activation of that grain beside the first (two answering for one agent, credential or task, each with its own
    /// memory of leases and revocations). The gateway now refuses the frame and closes the connection.
    /// </summary>
    [Fact]
    public async Task ACallToAGrainsIdWithAHashNotItsOwn_NeverReachesASecondActivation()
    {
        var scenario = new Scenario(fixture);
        var agent = await scenario.AgentAsync("hashed", Scenario.Scope(0, "doc:read:*"));
        var grain = fixture.Cluster.Client.GetGrain<IAgentGrain>(agent);
        var real = ((GrainReference)grain).GrainId;
        Assert.True((await scenario.Client.GetAgentAsync(agent)).IsSuccess);

        var forgedId = new GrainId(real.Type, IdSpan.UnsafeCreate(real.Key.AsSpan().ToArray(), real.Key.GetHashCode() ^ 0x5a5a5a5a));
        Assert.Equal(real, forgedId);
        var forged = fixture.Cluster.Client.GetGrain<IAgentGrain>(forgedId);
        TestIdentity.Attach(TestIdentity.Shared.PersonToken("person:mallory@test.dev"));
        try
        {
            // Never read: the gateway closes the connection, so the call fails rather than being answered.
            using var waited = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            await Assert.ThrowsAnyAsync<Exception>(() => forged.GetAsync(waited.Token));
        }
        finally
        {
            RequestContext.Clear();
        }

        var management = fixture.SiloGrains.GetGrain<IManagementGrain>(0);
        var activations = (await management.GetDetailedGrainStatistics()).Count(s => s.GrainId.Equals(real));
        Assert.Equal(1, activations);

        // The client reconnects and the same agent is served by its one activation. A call the client sent before it
        // noticed the closed connection waits for its response timeout, so each attempt has a short one of its own.
        Assert.True(await Eventually.LastAsync(async () =>
        {
            try
            {
                using var attempt = new CancellationTokenSource(TimeSpan.FromSeconds(3));
                return (await scenario.Client.GetAgentAsync(agent, attempt.Token)).IsSuccess;
            }
            catch (Exception)
            {
                return false;
            }
        }, ok => ok, TimeSpan.FromSeconds(60)));
        Assert.Equal(1, (await management.GetDetailedGrainStatistics()).Count(s => s.GrainId.Equals(real)));
    }
    /// <summary>
    /// Orleans' gateway sends a client's answers to the newest connection whose preamble named that client. A process
    /// that learned a connected client's id could connect naming it and take every answer meant for it from then on,
    /// issued credentials among them. The gateway now refuses it, and the client it named is served on.
    /// </summary>
    [Fact]
    public async Task AConnectionNamingAConnectedClientsId_IsRefused_AndThatClientKeepsItsAnswers()
    {
        var scenario = new Scenario(fixture);
        var agent = await scenario.AgentAsync("held-id", Scenario.Scope(0, "doc:read:*"));
        Assert.True((await scenario.Client.GetAgentAsync(agent)).IsSuccess);
        var details = fixture.Cluster.Client.ServiceProvider.GetRequiredService(typeof(Orleans.Configuration.ClusterOptions).Assembly.GetType("Orleans.LocalClientDetails", throwOnError: true)!);
        // ClientGrainId is internal to Orleans; its GrainId is the id the client's preamble names.
        var clientId = details.GetType().GetProperty("ClientId")!.GetValue(details)!;
        var client = (GrainId)clientId.GetType().GetField("GrainId")!.GetValue(clientId)!;
        var serializer = fixture.Cluster.Client.ServiceProvider.GetRequiredService<Orleans.Serialization.Serializer>();
        var gateways = fixture.Cluster.Silos.Cast<InProcessSiloHandle>()
            .Where(s => s.SiloHost.Services.GetRequiredService<GrantSilo.Grains.Gateway.ClientIdHolds>().IsHeld(client))
            .Select(s => s.GatewayAddress.Endpoint)
            .ToList();
        Assert.NotEmpty(gateways);

        // The cluster's own transport (in memory here), as any process that reaches the gateway would connect.
        var key = typeof(Orleans.Configuration.ClusterOptions).Assembly.GetType("Orleans.Runtime.Messaging.ClientOutboundConnectionFactory", throwOnError: true)!
            .GetField("ServicesKey", System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Static)!.GetValue(null)!;
        var transport = fixture.Cluster.Client.ServiceProvider.GetRequiredKeyedService<Microsoft.AspNetCore.Connections.IConnectionFactory>(key);
        foreach (var gateway in gateways)
        {
            var intruder = await transport.ConnectAsync(gateway);
            await intruder.Transport.Output.WriteAsync(ClientFrames.Preamble(serializer, client, fixture.Cluster.Options.ClusterId));
            // Closed by the silo once the hand-over wait has passed with the client still connected: the silo stops
            // reading it (the in-memory transport shows that as a completed flush).
            Assert.True(await Eventually.LastAsync(async () => (await intruder.Transport.Output.FlushAsync()).IsCompleted, closed => closed, TimeSpan.FromSeconds(30)),
                "The gateway kept a connection naming a connected client's id.");
            await intruder.DisposeAsync();
        }

        // The client was never cut off: its calls are answered to it, at once.
        using var answered = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        Assert.True((await scenario.Client.GetAgentAsync(agent, answered.Token)).IsSuccess);
        Assert.All(fixture.Cluster.Silos.Cast<InProcessSiloHandle>().Where(s => gateways.Contains(s.GatewayAddress.Endpoint)),
            s => Assert.True(s.SiloHost.Services.GetRequiredService<GrantSilo.Grains.Gateway.ClientIdHolds>().IsHeld(client)));
    }
    /// <summary>
    /// A grain runs one call at a time unless the message says the call may interleave, and Orleans takes the message's
    /// word. The gateway lets a client's message keep those flags only as the called method declares them, from a table
    /// of every call the silo knows: the calls GrantSilo declares always-interleave must be in it, and the ones it does
    /// not must not.
    /// </summary>
    [Fact]
    public void TheGatewaysInterleavingTable_HoldsWhatEachCallDeclares()
    {
        var services = ((InProcessSiloHandle)fixture.Cluster.Primary!).SiloHost.Services;
        var rules = services.GetRequiredService<GrantSilo.Grains.Gateway.ClientFrameRules>();
        var types = services.GetRequiredService<Orleans.Serialization.TypeSystem.TypeConverter>();
        // The invokable type Orleans generated for a method (its name is a hash), found by what it says it invokes.
        string Invokable(Type grainInterface, string method) => types.Format(grainInterface.Assembly.GetTypes()
            .Where(t => typeof(Orleans.Runtime.RequestBase).IsAssignableFrom(t) && !t.IsAbstract && !t.ContainsGenericParameters && t.GetConstructor(Type.EmptyTypes) is not null)
            .Single(t => Activator.CreateInstance(t) is Orleans.Runtime.RequestBase call && call.GetInterfaceType() == grainInterface && call.GetMethodName() == method));

        Assert.Equal(4u, rules.DeclaredFlags(Invokable(typeof(ICredentialGrain), "AuthorizeAsync")));
        Assert.Equal(4u, rules.DeclaredFlags(Invokable(typeof(ISessionGrain), "ListCredentialsAsync")));
        Assert.Equal(0u, rules.DeclaredFlags(Invokable(typeof(ISessionGrain), "IssueCredentialAsync")));
        Assert.Equal(0u, rules.DeclaredFlags(Invokable(typeof(ITaskGrain), "RevokeAsync")));
        var cancellation = typeof(Orleans.Configuration.ClusterOptions).Assembly.GetType("Orleans.Runtime.IGrainCallCancellationExtension", throwOnError: true)!;
        Assert.Equal(4u, rules.DeclaredFlags(Invokable(cancellation, "CancelRequestAsync")));
    }
}
