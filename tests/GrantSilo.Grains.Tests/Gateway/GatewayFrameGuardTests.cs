using System.Buffers.Binary;
using System.IO.Pipelines;
using CsCheck;
using GrantSilo.Grains.Access;
using GrantSilo.Grains.Gateway;
using GrantSilo.Grains.Hosting;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Orleans.Configuration;
using Orleans.Serialization;

namespace GrantSilo.Grains.Tests.Gateway;

/// <summary>
/// The guard as Orleans runs it, a connection middleware, over in-memory pipes: what it accepts reaches the next
/// middleware byte for byte however the stream is cut, what it refuses never does and closes the connection, and it
/// stops with the connection from either side.
/// </summary>
public class GatewayFrameGuardTests
{
    private static readonly Serializer Orleans = new ServiceCollection().AddSerializer().BuildServiceProvider().GetRequiredService<Serializer>();
    private readonly CapturedLog _log = new();
    private readonly FakeTimeProvider _time = new();

    private GatewayFrameGuard Guard(int burst = 5) => new(
        Options.Create(new GrantSiloMessagingOptions()),
        Options.Create(new SiloMessagingOptions { MaxMessageHeaderSize = new GrantSiloMessagingOptions().MaxMessageHeaderBytes, MaxMessageBodySize = 1024 * 1024 }),
        new RefusalRecords(Options.Create(new GrantSiloOptions { RecordedRefusalsBurst = burst, RecordedRefusalsPerSecond = 1 }), _time, Microsoft.Extensions.Logging.Abstractions.NullLogger<RefusalRecords>.Instance),
        new Logger<GatewayFrameGuard>(LoggerFactory.Create(logging => logging.AddProvider(_log))));

    private static byte[] Preamble()
    {
        var bytes = Orleans.SerializeToArray<object>(new object[] { "cluster", 1 });
        var framed = new byte[4 + bytes.Length];
        BinaryPrimitives.WriteInt32LittleEndian(framed, bytes.Length);
        bytes.CopyTo(framed.AsSpan(4));
        return framed;
    }

    private static byte[] Join(params byte[][] parts) => [.. parts.SelectMany(p => p)];

    private static byte[] Nested(int levels) => NestedMessages.NestedObjectArrays(Orleans, levels);

    [Fact]
    public async Task AcceptedFrames_ReachTheNextMiddlewareByteForByte_HoweverTheStreamIsCut()
    {
        byte[] stream = [.. Preamble(), .. NestedMessages.Frame(Nested(20)), .. NestedMessages.Frame([]), .. NestedMessages.Frame(Orleans.SerializeToArray<object>("hello"))];
        await Gen.Int[1, 64].Array[1, 40].SampleAsync(async cuts =>
        {
            var connection = new GuardedConnection(Guard());
            var at = 0;
            foreach (var cut in cuts.Append(stream.Length))
            {
                var length = Math.Min(cut, stream.Length - at);
                await connection.Client.Writer.WriteAsync(stream.AsMemory(at, length));
                at += length;
                if (at == stream.Length)
                {
                    break;
                }
            }
            await connection.Client.Writer.CompleteAsync();

            Assert.Equal(stream, await connection.ReadToEndAsync());
            Assert.False(connection.Context.ConnectionClosed.IsCancellationRequested);
            await connection.Running;
        }, iter: 50);
    }

    [Fact]
    public async Task AFrameNestedTooDeep_NeverReachesTheNextMiddleware_AndClosesTheConnection_LoggingOneLineWithoutItsBytes()
    {
        var connection = new GuardedConnection(Guard());
        byte[] accepted = [.. Preamble(), .. NestedMessages.Frame(Nested(10))];
        await connection.Client.Writer.WriteAsync(accepted);
        await connection.Client.Writer.WriteAsync(NestedMessages.Frame(Nested(25_000)));
        await connection.Client.Writer.WriteAsync(NestedMessages.Frame([]));

        Assert.Equal(accepted, await connection.ReadToEndAsync());
        await connection.Running;
        Assert.True(connection.Context.ConnectionClosed.WaitHandle.WaitOne(TimeSpan.FromSeconds(30)));
        var line = Assert.Single(_log.Lines);
        Assert.Contains("a message frame was refused before it was read (TooDeep at offset", line, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(0, 0)] // a header must have something in it
    [InlineData(32 * 1024 + 1, 0)] // a header over GrantSilo:Messaging:MaxMessageHeaderBytes
    [InlineData(18, 1024 * 1024 + 1)] // a body over Orleans' body bound
    [InlineData(18, -1)]
    public async Task AFrameLengthOrleansWouldRefuse_ClosesTheConnection_BeforeAnyOfItIsBuffered(int headerLength, int bodyLength)
    {
        var connection = new GuardedConnection(Guard());
        var prefix = new byte[8];
        BinaryPrimitives.WriteInt32LittleEndian(prefix, headerLength);
        BinaryPrimitives.WriteInt32LittleEndian(prefix.AsSpan(4), bodyLength);
        await connection.Client.Writer.WriteAsync(Join(Preamble(), prefix));

        Assert.Equal(Preamble(), await connection.ReadToEndAsync());
        await connection.Running;
        Assert.Contains("FrameLength at offset 0", Assert.Single(_log.Lines), StringComparison.Ordinal);
    }

    [Fact]
    public async Task APreambleOverOrleansBound_ClosesTheConnection()
    {
        var connection = new GuardedConnection(Guard());
        var prefix = new byte[4];
        BinaryPrimitives.WriteInt32LittleEndian(prefix, 1025);
        await connection.Client.Writer.WriteAsync(prefix);

        Assert.Empty(await connection.ReadToEndAsync());
        await connection.Running;
        Assert.Contains("FrameLength", Assert.Single(_log.Lines), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Refusals_AreLoggedAtTheRefusalRate_AndEveryOneClosesItsConnection()
    {
        var guard = Guard(burst: 2);
        for (var i = 0; i < 5; i++)
        {
            var connection = new GuardedConnection(guard);
            await connection.Client.Writer.WriteAsync(Join(Preamble(), NestedMessages.Frame([0b1010_0000])));
            Assert.Equal(Preamble(), await connection.ReadToEndAsync());
            await connection.Running;
            Assert.True(connection.Context.ConnectionClosed.WaitHandle.WaitOne(TimeSpan.FromSeconds(30)));
        }
        Assert.Equal(2, _log.Lines.Count);
        Assert.All(_log.Lines, l => Assert.Contains("UnknownWireType", l, StringComparison.Ordinal));
    }

    [Fact]
    public async Task WhenOrleansEndsTheConnection_ThePumpStops_WithTheClientStillConnected()
    {
        var connection = new GuardedConnection(Guard(), readsOneUnitThenStops: true);
        await connection.Client.Writer.WriteAsync(Join(Preamble(), NestedMessages.Frame([])));

        // The next middleware returns after its first read; the guard's pump, waiting on the client, must stop too.
        await connection.Running.WaitAsync(TimeSpan.FromSeconds(30));
        var flushed = await connection.Client.Writer.WriteAsync(new byte[1]);
        Assert.True(flushed.IsCompleted, "The guard still reads from a connection Orleans has finished with.");
    }

    [Fact]
    public void MaxMessageDepth_OutOfRange_StopsStartUp_SayingWhy()
    {
        var services = new ServiceCollection();
        services.AddSingleton<IConfiguration>(new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { ["GrantSilo:Messaging:MaxMessageDepth"] = "8" }).Build());
        services.AddLogging();
        services.AddGrantSiloCore(null);
        using var provider = services.BuildServiceProvider();

        var failure = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IOptions<GrantSiloMessagingOptions>>().Value);
        Assert.Contains("GrantSilo:Messaging:MaxMessageDepth must be between 16", failure.Message, StringComparison.Ordinal);
        Assert.Equal(64, new GrantSiloMessagingOptions().MaxMessageDepth);
    }

    // A connection through the guard: the client writes into Client, the next middleware's view is read back.
    private sealed class GuardedConnection
    {
        private readonly Pipe _received = new();

        public GuardedConnection(GatewayFrameGuard guard, bool readsOneUnitThenStops = false)
        {
            var toServer = Client;
            var fromServer = new Pipe();
            Context = new DefaultConnectionContext("test", new Duplex(toServer.Reader, fromServer.Writer), new Duplex(fromServer.Reader, toServer.Writer));
            var builder = new ConnectionBuilder(new ServiceCollection().BuildServiceProvider());
            guard.Use(builder);
            builder.Run(async context =>
            {
                // Stands for Orleans: reads what the guard passes on, until the guard completes it.
                var input = context.Transport.Input;
                while (true)
                {
                    var result = await input.ReadAsync();
                    foreach (var segment in result.Buffer)
                    {
                        await _received.Writer.WriteAsync(segment);
                    }
                    input.AdvanceTo(result.Buffer.End);
                    if (result.IsCompleted || readsOneUnitThenStops)
                    {
                        break;
                    }
                }
                await input.CompleteAsync();
                await _received.Writer.CompleteAsync();
            });
            Running = builder.Build()(Context);
        }

        public Pipe Client { get; } = new();

        public DefaultConnectionContext Context { get; }

        public Task Running { get; }

        public async Task<byte[]> ReadToEndAsync()
        {
            // Bounded, so a guard that keeps a refused connection open fails the test instead of hanging it.
            using var bytes = new MemoryStream();
            await _received.Reader.CopyToAsync(bytes).WaitAsync(TimeSpan.FromSeconds(30));
            return bytes.ToArray();
        }
    }

    private sealed class Duplex(PipeReader input, PipeWriter output) : IDuplexPipe
    {
        public PipeReader Input { get; } = input;

        public PipeWriter Output { get; } = output;
    }
}
