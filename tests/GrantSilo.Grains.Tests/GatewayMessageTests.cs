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
}
