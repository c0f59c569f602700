using System.Buffers.Binary;
using System.IO.Pipelines;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
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
    private static readonly IServiceProvider Services = new ServiceCollection().AddSerializer(b => b.AddAssembly(typeof(ClusterOptions).Assembly)).BuildServiceProvider();
    private static readonly Serializer Orleans = Services.GetRequiredService<Serializer>();
    // A call type the rules below declare always-interleave for: a body whose first field is one is such a call.
    private static readonly object InterleavingCall = Tuple.Create(1, 2);
    private static readonly GrainId Client = ClientFrames.NewClient();
    private static readonly GrainId Target = GrainId.Create("grantsilo.task", "t-1");
    private readonly CapturedLog _log = new();
    private readonly RecordingTrail _trail = new();
    private readonly FakeTimeProvider _time = new();

    internal static ClientFrameRules Rules() => new(
        bytes => (GrainId?)typeof(ClusterOptions).Assembly.GetType("Orleans.Runtime.Messaging.ConnectionPreamble", throwOnError: true)!
            .GetProperty("NodeIdentity")!.GetValue(Orleans.Deserialize<object>(bytes)),
        new Dictionary<string, uint> { [Services.GetRequiredService<Orleans.Serialization.TypeSystem.TypeConverter>().Format(InterleavingCall.GetType())] = ClientFrames.AlwaysInterleave });

    private GatewayFrameGuard Guard(int burst = 5, ClientIdHolds? holds = null) => new(
        Options.Create(new GrantSiloMessagingOptions()),
        Options.Create(new SiloMessagingOptions { MaxMessageHeaderSize = new GrantSiloMessagingOptions().MaxMessageHeaderBytes, MaxMessageBodySize = 1024 * 1024 }),
        new RefusalRecords(Options.Create(new GrantSiloOptions { RecordedRefusalsBurst = burst, RecordedRefusalsPerSecond = 1 }), _time, Microsoft.Extensions.Logging.Abstractions.NullLogger<RefusalRecords>.Instance),
        Rules(),
        holds ?? new ClientIdHolds(_time),
        new ServiceCollection().AddSingleton<GrantSilo.Grains.Audit.IAuditTrail>(_trail).AddSingleton<TimeProvider>(_time).BuildServiceProvider(),
        new Logger<GatewayFrameGuard>(LoggerFactory.Create(logging => logging.AddProvider(_log))));

    private static byte[] Preamble() => ClientFrames.Preamble(Orleans, Client);

    // A request from the connection's client, as Orleans' client writes one.
    private static byte[] Frame(byte[] body, uint packed = ClientFrames.Request, GrainId? sender = null, GrainId? target = null, GrainInterfaceType? interfaceType = null, int? targetKeyHash = null, int? senderKeyHash = null) =>
        ClientFrames.Frame(ClientFrames.Header(packed, sender ?? Client, target ?? Target, interfaceType, targetKeyHash, senderKeyHash), body);

    private static byte[] Join(params byte[][] parts) => [.. parts.SelectMany(p => p)];

    private static byte[] Nested(int levels) => NestedMessages.NestedObjectArrays(Orleans, levels);

    [Fact]
    public async Task AcceptedFrames_ReachTheNextMiddlewareByteForByte_HoweverTheStreamIsCut()
    {
        byte[] stream = [.. Preamble(), .. Frame(Nested(20)), .. Frame([]), .. Frame(Orleans.SerializeToArray<object>("hello"))];
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
        byte[] accepted = [.. Preamble(), .. Frame(Nested(10))];
        await connection.Client.Writer.WriteAsync(accepted);
        await connection.Client.Writer.WriteAsync(Frame(Nested(25_000)));
        await connection.Client.Writer.WriteAsync(Frame([]));

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
            await connection.Client.Writer.WriteAsync(Join(Preamble(), Frame([0b1010_0000])));
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
        await connection.Client.Writer.WriteAsync(Join(Preamble(), Frame([])));

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

    public static TheoryData<string, string> ForgedFrames => new()
    {
        { "a response", "NotARequest" },
        { "a frame with no direction", "NotARequest" },
        { "another client's id as the sender", "ForgedSender" },
        { "a grain's id as the sender", "ForgedSender" },
        { "the sender's key with a hash not its own", "ForgedIdHash" },
        { "the target's key with a hash not its own", "ForgedIdHash" },
        { "the interface type with a hash not its own", "ForgedIdHash" },
        { "a system message", "ForbiddenFlags" },
        { "a local-only message", "ForbiddenFlags" },
        { "a flag Orleans does not define", "ForbiddenFlags" },
    };

    private static byte[] Forged(string what) => what switch
    {
        "a response" => Frame(Orleans.SerializeToArray<object>("an answer"), ClientFrames.Response),
        "a frame with no direction" => Frame([], 0),
        "another client's id as the sender" => Frame([], sender: ClientFrames.NewClient()),
        "a grain's id as the sender" => Frame([], sender: GrainId.Create("grantsilo.credential", "c-1")),
        "the sender's key with a hash not its own" => Frame([], senderKeyHash: Client.Key.GetHashCode() ^ 1),
        "the target's key with a hash not its own" => Frame([], targetKeyHash: Target.Key.GetHashCode() ^ 0x5a5a),
        "the interface type with a hash not its own" => ForgedInterfaceHash(),
        "a system message" => Frame([], ClientFrames.Request | ClientFrames.SystemMessage),
        "a local-only message" => Frame([], ClientFrames.Request | ClientFrames.IsLocalOnly),
        "a flag Orleans does not define" => Frame([], ClientFrames.Request | 1 << 12),
        _ => throw new ArgumentOutOfRangeException(nameof(what)),
    };

    // A frame naming the cancellation interface, with the last four bytes before the interface's own (its hash) changed.
    private static byte[] ForgedInterfaceHash()
    {
        var someInterface = GrainInterfaceType.Create("test.interface");
        var header = ClientFrames.Header(ClientFrames.Request, Client, Target, someInterface);
        header[header.Length - someInterface.Value.AsSpan().Length - 1] ^= 0x01;
        return ClientFrames.Frame(header, []);
    }

    [Theory]
    [MemberData(nameof(ForgedFrames))]
    public async Task AFrameThatMisstatesItsSender_ItsDirection_ItsFlags_OrItsIdsHashes_NeverReachesOrleans_AndClosesTheConnection(string what, string refusal)
    {
        var connection = new GuardedConnection(Guard());
        byte[] accepted = [.. Preamble(), .. Frame([])];
        await connection.Client.Writer.WriteAsync(accepted);
        await connection.Client.Writer.WriteAsync(Forged(what));
        await connection.Client.Writer.WriteAsync(Frame([]));

        Assert.Equal(accepted, await connection.ReadToEndAsync());
        await connection.Running;
        Assert.True(connection.Context.ConnectionClosed.WaitHandle.WaitOne(TimeSpan.FromSeconds(30)));
        Assert.Contains($"({refusal} at offset", Assert.Single(_log.Lines), StringComparison.Ordinal);
    }

    [Fact]
    public async Task ARefusedFrame_IsAuditedAsARefusedCaller_NamingTheRuleAndThePeer_WithNoneOfItsBytes()
    {
        var connection = new GuardedConnection(Guard());
        var secret = Orleans.SerializeToArray<object>("not-for-the-log-" + Guid.NewGuid().ToString("N"));
        await connection.Client.Writer.WriteAsync(Join(Preamble(), Frame(secret, ClientFrames.Response)));
        await connection.ReadToEndAsync();
        await connection.Running;

        var record = Assert.Single(_trail.Records);
        Assert.Equal(AuditEventKind.CallerRefused, record.Kind);
        Assert.Equal(DecisionKind.Deny, record.Decision);
        Assert.Equal(DecisionReason.CallerUnauthenticated, record.Reason);
        Assert.Equal("gateway", record.Action);
        Assert.Null(record.CallerSubject);
        Assert.Contains("(NotARequest at offset", record.Detail, StringComparison.Ordinal);
        Assert.DoesNotContain("not-for-the-log", System.Text.Json.JsonSerializer.Serialize(record), StringComparison.Ordinal);
    }

    private sealed class RecordingTrail : GrantSilo.Grains.Audit.IAuditTrail
    {
        private readonly System.Collections.Concurrent.ConcurrentQueue<AuditRecord> _records = new();

        public IReadOnlyList<AuditRecord> Records => [.. _records];

        public ValueTask RecordAsync(AuditRecord record, CancellationToken cancellationToken)
        {
            _records.Enqueue(record);
            return ValueTask.CompletedTask;
        }
    }

    public static TheoryData<string> BadPreambles => ["a grain", "a client's observer", "no client at all"];

    [Theory]
    [MemberData(nameof(BadPreambles))]
    public async Task APreambleThatNamesNoClient_ClosesTheConnection_BeforeOrleansReadsIt(string names)
    {
        var preamble = names switch
        {
            "a grain" => ClientFrames.Preamble(Orleans, GrainId.Create("grantsilo.task", "t-1")),
            "a client's observer" => ClientFrames.Preamble(Orleans, GrainId.Create("sys.client", $"{Guid.NewGuid():N}+{Guid.NewGuid():N}")),
            _ => Join(BitConverter.GetBytes(Orleans.SerializeToArray<object>(new object[] { "cluster", 1 }).Length), Orleans.SerializeToArray<object>(new object[] { "cluster", 1 })),
        };
        var connection = new GuardedConnection(Guard());
        await connection.Client.Writer.WriteAsync(Join(preamble, Frame([])));

        Assert.Empty(await connection.ReadToEndAsync());
        await connection.Running;
        Assert.Contains("(BadPreamble at offset", Assert.Single(_log.Lines), StringComparison.Ordinal);
    }

    [Fact]
    public async Task InterleavingFlags_StayOnlyAsTheCalledMethodDeclaresThem_AndTheRestOfTheFramePassesUnchanged()
    {
        const uint interleaving = ClientFrames.ReadOnly | ClientFrames.AlwaysInterleave | ClientFrames.Unordered;
        var undeclared = Frame(Orleans.SerializeToArray<object>("a call declaring nothing"), ClientFrames.Request | interleaving);
        var declared = Frame(Orleans.SerializeToArray<object>(InterleavingCall), ClientFrames.OneWay | interleaving);
        var plain = Frame(Orleans.SerializeToArray<object>(InterleavingCall), ClientFrames.Request);
        var connection = new GuardedConnection(Guard());
        await connection.Client.Writer.WriteAsync(Join(Preamble(), undeclared, declared, plain));
        await connection.Client.Writer.CompleteAsync();

        var passed = await connection.ReadToEndAsync();
        var preambleLength = Preamble().Length;
        var frames = new[] { undeclared, declared, plain };
        Assert.Equal(preambleLength + frames.Sum(f => f.Length), passed.Length);
        // Cleared where nothing declares them; where the call declares always-interleave, that one stays; none added.
        var expected = new[] { ClientFrames.Request, ClientFrames.OneWay | ClientFrames.AlwaysInterleave, ClientFrames.Request };
        var at = preambleLength;
        for (var i = 0; i < frames.Length; i++)
        {
            var seen = passed.AsSpan(at, frames[i].Length);
            Assert.Equal(expected[i], ClientFrames.PackedHeader(seen));
            // Only the packed header changed.
            Assert.True(seen[..8].SequenceEqual(frames[i].AsSpan(0, 8)) && seen[12..].SequenceEqual(frames[i].AsSpan(12)), $"Frame {i} changed beyond its flags.");
            at += frames[i].Length;
        }
        Assert.Empty(_log.Lines);
    }

    /// <summary>
    /// Orleans' gateway sends a client's answers to the newest connection whose preamble named it, so a second connection
    /// naming a connected client's id would take every answer meant for that client, credentials among them. It waits
    /// for the holder to close, and is refused when the holder does not; the holder is served on.
    /// </summary>
    [Fact]
    public async Task ASecondConnectionNamingAHeldClientId_IsRefusedAfterTheHandoverWait_AndTheHolderKeepsItsAnswers()
    {
        var holds = new ClientIdHolds(_time);
        var guard = Guard(holds: holds);
        var holder = new GuardedConnection(guard);
        var first = Frame(Orleans.SerializeToArray<object>("first"));
        await holder.Client.Writer.WriteAsync(Join(Preamble(), first));
        Assert.True(Until(() => holds.Count == 1), "Never reached: Count == 1.");

        var intruder = new GuardedConnection(guard);
        await intruder.Client.Writer.WriteAsync(Join(Preamble(), Frame([])));
        Assert.True(Until(() => holds.Waiting == 1), "Never reached: Waiting == 1.");
        _time.Advance(ClientIdHolds.HandoverWait - TimeSpan.FromMilliseconds(1));
        Assert.False(intruder.Running.IsCompleted, "Refused before the hand-over wait ended.");
        _time.Advance(TimeSpan.FromMilliseconds(1));

        Assert.Empty(await intruder.ReadToEndAsync());
        await intruder.Running;
        Assert.True(intruder.Context.ConnectionClosed.WaitHandle.WaitOne(TimeSpan.FromSeconds(30)));
        Assert.Contains("(ClientIdInUse at offset 4)", Assert.Single(_log.Lines), StringComparison.Ordinal);
        Assert.Contains("(ClientIdInUse at offset 4)", Assert.Single(_trail.Records).Detail, StringComparison.Ordinal);

        // The holder was never closed, and what it sends still passes.
        Assert.False(holder.Context.ConnectionClosed.IsCancellationRequested);
        var second = Frame(Orleans.SerializeToArray<object>("second"));
        await holder.Client.Writer.WriteAsync(second);
        await holder.Client.Writer.CompleteAsync();
        Assert.Equal(Join(Preamble(), first, second), await holder.ReadToEndAsync());
        await holder.Running;
        Assert.Equal(0, holds.Count);
    }

    [Fact]
    public async Task AConnectionNamingAHeldClientId_TakesItWhenTheHolderClosesWithinTheWait_AndAfterwardsAtOnce()
    {
        var holds = new ClientIdHolds(_time);
        var guard = Guard(holds: holds);
        var old = new GuardedConnection(guard);
        await old.Client.Writer.WriteAsync(Preamble());
        Assert.True(Until(() => holds.Count == 1), "Never reached: Count == 1.");

        // The client reconnects before the silo has seen its old connection close.
        var reconnected = new GuardedConnection(guard);
        var frame = Frame(Orleans.SerializeToArray<object>("after reconnecting"));
        await reconnected.Client.Writer.WriteAsync(Join(Preamble(), frame));
        Assert.True(Until(() => holds.Waiting == 1), "Never reached: Waiting == 1.");
        await old.Client.Writer.CompleteAsync();
        await old.Running;

        await reconnected.Client.Writer.CompleteAsync();
        Assert.Equal(Join(Preamble(), frame), await reconnected.ReadToEndAsync());
        await reconnected.Running;
        Assert.Empty(_log.Lines);

        // Nobody holds it now: the next connection naming it needs no wait.
        var later = new GuardedConnection(guard);
        await later.Client.Writer.WriteAsync(Preamble());
        await later.Client.Writer.CompleteAsync();
        Assert.Equal(Preamble(), await later.ReadToEndAsync());
        await later.Running;
        Assert.Equal(0, holds.Count);
        Assert.Empty(_log.Lines);
    }

    /// <summary>
    /// A connection that presents the client certificate the holder presented is the same client (its old connection may
    /// be one the silo cannot see is dead): it takes the id at once and the old connection is closed. Another
    /// certificate, or none, proves nothing and waits like any other.
    /// </summary>
    [Fact]
    public async Task TheHoldersOwnClientCertificate_TakesTheIdOverAtOnce_ClosingTheOldConnection_AnotherCertificateDoesNot()
    {
        using var mine = Certificate("CN=client-a");
        using var mineAgain = X509CertificateLoader.LoadCertificate(mine.RawData);
        using var theirs = Certificate("CN=client-a");
        var holds = new ClientIdHolds(_time);
        var guard = Guard(holds: holds);
        var old = new GuardedConnection(guard, clientCertificate: mine);
        await old.Client.Writer.WriteAsync(Preamble());
        Assert.True(Until(() => holds.Count == 1), "Never reached: Count == 1.");

        var replacement = new GuardedConnection(guard, clientCertificate: mineAgain);
        await replacement.Client.Writer.WriteAsync(Preamble());
        Assert.True(old.Context.ConnectionClosed.WaitHandle.WaitOne(TimeSpan.FromSeconds(30)), "The replaced connection stayed open.");
        Assert.Equal(0, holds.Waiting);

        foreach (var other in new X509Certificate2?[] { theirs, null })
        {
            var intruder = new GuardedConnection(guard, clientCertificate: other);
            await intruder.Client.Writer.WriteAsync(Preamble());
            Assert.True(Until(() => holds.Waiting == 1), "Never reached: Waiting == 1.");
            _time.Advance(ClientIdHolds.HandoverWait);
            Assert.Empty(await intruder.ReadToEndAsync());
            await intruder.Running;
        }
        Assert.Equal(2, _log.Lines.Count);
        Assert.All(_log.Lines, l => Assert.Contains("ClientIdInUse", l, StringComparison.Ordinal));
        Assert.False(replacement.Context.ConnectionClosed.IsCancellationRequested);

        // The old connection's end does not free the id its replacement holds.
        await old.Client.Writer.CompleteAsync();
        await old.Running;
        Assert.Equal(1, holds.Count);
        await replacement.Client.Writer.CompleteAsync();
        Assert.Equal(Preamble(), await replacement.ReadToEndAsync());
        await replacement.Running;
        Assert.Equal(0, holds.Count);
    }

    // The guard's pumps run on the thread pool; a state they reach is awaited by condition, bounded, never by time.
    private static bool Until(Func<bool> condition) => SpinWait.SpinUntil(condition, TimeSpan.FromSeconds(30));

    private static X509Certificate2 Certificate(string subject)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest(subject, key, HashAlgorithmName.SHA256);
        return request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
    }

    // A connection through the guard: the client writes into Client, the next middleware's view is read back.
    private sealed class GuardedConnection
    {
        private readonly Pipe _received = new();

        public GuardedConnection(GatewayFrameGuard guard, bool readsOneUnitThenStops = false, X509Certificate2? clientCertificate = null)
        {
            var toServer = Client;
            var fromServer = new Pipe();
            Context = new DefaultConnectionContext("test", new Duplex(toServer.Reader, fromServer.Writer), new Duplex(fromServer.Reader, toServer.Writer));
            if (clientCertificate is not null)
            {
                // As Orleans' TLS middleware leaves it, outside the guard, once the handshake verified the client's certificate.
                Context.Features.Set<Orleans.Connections.Security.ITlsConnectionFeature>(new TlsFeature(clientCertificate));
            }
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

    private sealed class TlsFeature(X509Certificate2 certificate) : Orleans.Connections.Security.ITlsConnectionFeature
    {
        public X509Certificate2? RemoteCertificate { get; set; } = certificate;

        public Task<X509Certificate2?> GetRemoteCertificateAsync(CancellationToken cancellationToken) => Task.FromResult(RemoteCertificate);
    }

    private sealed class Duplex(PipeReader input, PipeWriter output) : IDuplexPipe
    {
        public PipeReader Input { get; } = input;

        public PipeWriter Output { get; } = output;
    }
}
