using System.Buffers;
using System.IO.Pipelines;
using GrantSilo.GrainInterfaces;
using GrantSilo.Testing;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Serialization;

namespace GrantSilo.Benchmarks;

/// <summary>
/// What the gateway's frame guard (<see cref="GrantSilo.Grains.Gateway.GatewayFrameGuard"/>) costs per frame: a client
/// connection's stream (a preamble, then frames) through the silo's own guard over in-memory pipes, as
/// GatewayFrameGuardTests drives it, against the same stream through a pass-through middleware shaped like the guard (the
/// same pipe between the transport and what reads it) that only copies. What reads it stands for Orleans: it drains the
/// pipe and counts the bytes, and every connection is checked to have passed all of them, so a refusal can never count as
/// a fast frame.
/// </summary>
internal sealed class GuardCost
{
    private readonly ConnectionDelegate _guarded;
    private readonly ConnectionDelegate _passThrough;

    public GuardCost(IServiceProvider services)
    {
        _guarded = Pipeline(services, services.GetRequiredService<GrantSilo.Grains.Gateway.GatewayFrameGuard>().Use);
        _passThrough = Pipeline(services, UsePassThrough);
    }

    /// <summary>A connection through the silo's guard, or through the pass-through middleware.</summary>
    public Task SendAsync(bool guarded, ClientStream stream, int frames) => SendAsync(guarded ? _guarded : _passThrough, stream, frames);

    /// <summary>One client's stream: its preamble and a frame it sends again and again.</summary>
    internal sealed record ClientStream(byte[] Preamble, byte[] Frame);

    /// <summary>
    /// Two Authorize requests as a client writes them (the header as Orleans' message serializer lays it out, the body
    /// the invokable Orleans generated for <see cref="ICredentialGrain.AuthorizeAsync"/>, serialized by the silo's
    /// serializer): <c>small</c> carries the caller's proof as the SDK does after its first call, the SHA-256 of its token
    /// as an argument, and no request context; <c>large</c> carries the caller's whole token in the request context, as
    /// every other call does.
    /// </summary>
    public static (ClientStream Small, ClientStream Large) Streams(IServiceProvider services, GrainId client, string credentialId, byte[] callerToken)
    {
        var serializer = services.GetRequiredService<Serializer>();
        var preamble = ClientFrames.Preamble(serializer, client, services.GetRequiredService<Microsoft.Extensions.Options.IOptions<Orleans.Configuration.ClusterOptions>>().Value.ClusterId);
        var target = GrainId.Create("credential", credentialId);
        var interfaceType = services.GetRequiredService<Orleans.Metadata.GrainInterfaceTypeResolver>().GetGrainInterfaceType(typeof(ICredentialGrain));
        var secret = System.Security.Cryptography.RandomNumberGenerator.GetBytes(32);
        var resource = new ResourceRef { Type = "doc", Path = "reports/q3.md" };
        byte[] Body(CallerProof? proof) => serializer.SerializeToArray<object>(Authorize(secret, "read", resource, proof));
        // As Orleans' client sends a request: interleaving as the method declares it, a time to live, the interface type.
        byte[] Header(byte[]? context) => ClientFrames.Header(ClientFrames.Request | ClientFrames.AlwaysInterleave, client, target, interfaceType, id: 42, timeToLiveMilliseconds: 30_000, requestContext: context);
        var small = ClientFrames.Frame(Header(null), Body(new CallerProof { Reference = System.Security.Cryptography.SHA256.HashData(callerToken) }));
        var large = ClientFrames.Frame(Header(ClientFrames.RequestContext(serializer, (CallerHeaders.Token, callerToken))), Body(null));
        return (new(preamble, small), new(preamble, large));
    }

    // The request Orleans' client sends for ICredentialGrain.AuthorizeAsync: its generated invokable, with the arguments set.
    private static Orleans.Serialization.Invocation.IInvokable Authorize(byte[] secret, string action, ResourceRef resource, CallerProof? caller)
    {
        var type = typeof(ICredentialGrain).Assembly.GetTypes()
            .Where(t => typeof(Orleans.Runtime.RequestBase).IsAssignableFrom(t) && !t.IsAbstract && !t.ContainsGenericParameters && t.GetConstructor(Type.EmptyTypes) is not null)
            .Single(t => Activator.CreateInstance(t) is Orleans.Runtime.RequestBase call && call.GetInterfaceType() == typeof(ICredentialGrain) && call.GetMethodName() == nameof(ICredentialGrain.AuthorizeAsync));
        var call = (Orleans.Serialization.Invocation.IInvokable)Activator.CreateInstance(type)!;
        call.SetArgument(0, secret);
        call.SetArgument(1, action);
        call.SetArgument(2, resource);
        call.SetArgument(3, caller!);
        return call;
    }

    private static ConnectionDelegate Pipeline(IServiceProvider services, Action<IConnectionBuilder> middleware)
    {
        var builder = new ConnectionBuilder(services);
        middleware(builder);
        builder.Run(async context =>
        {
            // Stands for Orleans: reads what the middleware passes on until it completes the pipe, and counts it.
            var input = context.Transport.Input;
            var drained = context.Features.Get<Drained>()!;
            while (true)
            {
                var result = await input.ReadAsync();
                drained.Bytes += result.Buffer.Length;
                input.AdvanceTo(result.Buffer.End);
                if (result.IsCompleted || result.IsCanceled)
                {
                    break;
                }
            }
            await input.CompleteAsync();
        });
        return builder.Build();
    }

    private static async Task SendAsync(ConnectionDelegate pipeline, ClientStream stream, int frames)
    {
        var toServer = new Pipe();
        var fromServer = new Pipe();
        var context = new DefaultConnectionContext("bench", new Duplex(toServer.Reader, fromServer.Writer), new Duplex(fromServer.Reader, toServer.Writer));
        var drained = new Drained();
        context.Features.Set(drained);
        var running = pipeline(context);
        // One write (and flush) per frame, as a client's connection sends each message.
        await toServer.Writer.WriteAsync(stream.Preamble);
        for (var i = 0; i < frames; i++)
        {
            await toServer.Writer.WriteAsync(stream.Frame);
        }
        await toServer.Writer.CompleteAsync();
        await running;
        var expected = stream.Preamble.Length + (long)stream.Frame.Length * frames;
        if (drained.Bytes != expected || context.ConnectionClosed.IsCancellationRequested)
        {
            throw new InvalidOperationException($"The connection passed {drained.Bytes} of {expected} bytes{(context.ConnectionClosed.IsCancellationRequested ? " and was closed" : "")}: a frame was refused.");
        }
    }

    // The baseline: the guard's shape (a pipe between the transport and what reads it, a pump that copies into it, the
    // transport swapped and restored) without reading or checking anything.
    private static void UsePassThrough(IConnectionBuilder connection) => connection.Use(next => async context =>
    {
        var transport = context.Transport;
        var passed = new Pipe(new PipeOptions(useSynchronizationContext: false));
        var pump = PumpAsync(transport.Input, passed.Writer);
        context.Transport = new Duplex(passed.Reader, transport.Output);
        try
        {
            await next(context);
        }
        finally
        {
            context.Transport = transport;
            await passed.Reader.CompleteAsync();
            transport.Input.CancelPendingRead();
            await pump;
        }
    });

    private static async Task PumpAsync(PipeReader input, PipeWriter output)
    {
        try
        {
            while (true)
            {
                var result = await input.ReadAsync();
                if (result.IsCanceled)
                {
                    return;
                }
                foreach (var segment in result.Buffer)
                {
                    output.Write(segment.Span);
                }
                var passed = result.Buffer.Length;
                input.AdvanceTo(result.Buffer.End);
                if (passed > 0)
                {
                    var flushed = await output.FlushAsync();
                    if (flushed.IsCompleted || flushed.IsCanceled)
                    {
                        return;
                    }
                }
                if (result.IsCompleted)
                {
                    return;
                }
            }
        }
        finally
        {
            await output.CompleteAsync();
            await input.CompleteAsync();
        }
    }

    private sealed class Drained
    {
        public long Bytes { get; set; }
    }

    private sealed class Duplex(PipeReader input, PipeWriter output) : IDuplexPipe
    {
        public PipeReader Input { get; } = input;

        public PipeWriter Output { get; } = output;
    }
}
