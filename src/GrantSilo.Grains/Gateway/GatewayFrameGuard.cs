using System.Buffers;
using System.Buffers.Binary;
using System.IO.Pipelines;
using GrantSilo.Grains.Access;
using GrantSilo.Grains.Diagnostics;
using GrantSilo.Grains.Hosting;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Configuration;

namespace GrantSilo.Grains.Gateway;

/// <summary>
/// Sits on every client connection to the silo's gateway, inside TLS (it sees the plaintext stream), and lets Orleans
/// read only what <see cref="MessageShape"/> accepts. Orleans deserializes a message's header and body before any
/// GrantSilo code runs (the caller's token is checked after), and its deserializer nests one call per nested object with
/// no limit, so without this one frame from anyone who can reach the gateway could end the process with a stack overflow.
/// </summary>
/// <remarks>
/// The stream a client sends is a preamble (a 4-byte little-endian length of at most 1024 and a serialized value), then
/// frames: a 4-byte header length, a 4-byte body length (both little-endian), the header, the body. The guard reads each
/// unit whole, refusing a length Orleans would refuse before buffering it, checks it, and copies it unchanged to the pipe
/// Orleans reads. A refused unit is never passed on: the connection is closed, one line is logged (at the rate the door's
/// refusals are, <see cref="RefusalRecords"/>) naming the refusal and its offset, never the bytes, and it is counted in
/// <see cref="GrantSiloMetrics.GatewayFramesRefused"/>. An accepted preamble's client id is held for the connection
/// (<see cref="ClientIdHolds"/>) until Orleans is done with it, since Orleans sends that client's answers to its newest
/// connection.
/// </remarks>
internal sealed partial class GatewayFrameGuard(
    IOptions<GrantSiloMessagingOptions> limits,
    IOptions<SiloMessagingOptions> orleansLimits,
    RefusalRecords records,
    ClientFrameRules rules,
    ClientIdHolds holds,
    IServiceProvider services,
    ILogger<GatewayFrameGuard> logger)
{
    private const int PreambleLengthSize = 4;
    private const int MaxPreambleLength = 1024;
    private const int FrameLengthSize = 8;

    /// <summary>Adds the guard to a connection's middleware; added after TLS, it runs inside it.</summary>
    public void Use(IConnectionBuilder connection) => connection.Use(next => context => OnConnectionAsync(context, next));

    private async Task OnConnectionAsync(ConnectionContext context, ConnectionDelegate next)
    {
        var transport = context.Transport;
        // Orleans reads this pipe; its pause threshold is what holds the client back while Orleans is busy.
        var checkedInput = new Pipe(new PipeOptions(useSynchronizationContext: false));
        var pump = PumpAsync(context, transport.Input, checkedInput.Writer);
        context.Transport = new GuardedTransport(checkedInput.Reader, transport.Output);
        try
        {
            await next(context).ConfigureAwait(false);
        }
        finally
        {
            context.Transport = transport;
            // Orleans is done with the connection: stop the pump whichever await it is in, and wait for it. Only then is
            // the client's id free for another connection: until now Orleans could still send this connection answers.
            await checkedInput.Reader.CompleteAsync().ConfigureAwait(false);
            transport.Input.CancelPendingRead();
            (await pump.ConfigureAwait(false))?.Dispose();
        }
    }

    // Returns the connection's hold on its client's id, if the preamble was accepted.
    private async Task<ClientIdHolds.Hold?> PumpAsync(ConnectionContext context, PipeReader input, PipeWriter output)
    {
        var bounds = new Limits(orleansLimits.Value.MaxMessageHeaderSize, orleansLimits.Value.MaxMessageBodySize, limits.Value.MaxMessageDepth);
        // The client the preamble named; every frame after it must come from that client.
        ClientFrameRules.ClientId? client = null;
        ClientIdHolds.Hold? hold = null;
        Exception? failure = null;
        try
        {
            while (true)
            {
                var result = await input.ReadAsync().ConfigureAwait(false);
                if (result.IsCanceled)
                {
                    return hold;
                }
                var buffer = result.Buffer;
                var check = ShapeCheck.Accepted;
                long passed = 0;
                while (check.IsAccepted)
                {
                    var rest = buffer.Slice(passed);
                    if (client is null)
                    {
                        var unit = NextPreamble(rest, bounds, out check);
                        if (unit == 0)
                        {
                            break;
                        }
                        client = rules.ReadClient(rest.Slice(PreambleLengthSize, unit - PreambleLengthSize));
                        if (client is null)
                        {
                            check = new(ShapeRefusal.BadPreamble, PreambleLengthSize);
                            break;
                        }
                        // One connection per client id: Orleans sends a client's answers to its newest connection.
                        hold = await holds.TryHoldAsync(client, context).ConfigureAwait(false);
                        if (hold is null)
                        {
                            check = new(ShapeRefusal.ClientIdInUse, PreambleLengthSize);
                            break;
                        }
                        Copy(rest.Slice(0, unit), output);
                        passed += unit;
                    }
                    else
                    {
                        var unit = NextFrame(rest, bounds, out check);
                        if (unit == 0)
                        {
                            break;
                        }
                        var headerLength = HeaderLength(rest);
                        check = Offset(rules.Check(rest.Slice(FrameLengthSize, headerLength), rest.Slice(FrameLengthSize + headerLength, unit - FrameLengthSize - headerLength), client, out var packed, out var rewritten), FrameLengthSize);
                        if (!check.IsAccepted)
                        {
                            break;
                        }
                        if (rewritten)
                        {
                            // The lengths, the packed header Orleans is to read, and the rest as sent.
                            Copy(rest.Slice(0, FrameLengthSize), output);
                            BinaryPrimitives.WriteUInt32LittleEndian(output.GetSpan(4), packed);
                            output.Advance(4);
                            Copy(rest.Slice(FrameLengthSize + 4, unit - FrameLengthSize - 4), output);
                        }
                        else
                        {
                            Copy(rest.Slice(0, unit), output);
                        }
                        passed += unit;
                    }
                }
                input.AdvanceTo(buffer.GetPosition(passed), buffer.End);
                if (!check.IsAccepted)
                {
                    Refuse(context, check);
                    return hold;
                }
                if (passed > 0)
                {
                    var flushed = await output.FlushAsync().ConfigureAwait(false);
                    if (flushed.IsCompleted || flushed.IsCanceled)
                    {
                        return hold;
                    }
                }
                if (result.IsCompleted)
                {
                    return hold;
                }
            }
        }
        catch (Exception e)
        {
            // The transport failed (the client went away mid-read); Orleans sees the same failure on its pipe.
            failure = e;
        }
        finally
        {
            await output.CompleteAsync(failure).ConfigureAwait(false);
            await input.CompleteAsync().ConfigureAwait(false);
        }
        return hold;
    }

    // The length of the preamble at the head of the buffer if it is whole and accepted; zero when more is needed.
    private static long NextPreamble(ReadOnlySequence<byte> buffer, Limits limits, out ShapeCheck check)
    {
        check = ShapeCheck.Accepted;
        if (!TryReadInt32(buffer, 0, out var length))
        {
            return 0;
        }
        if (length is < 0 or > MaxPreambleLength)
        {
            check = new(ShapeRefusal.FrameLength, 0);
            return 0;
        }
        if (buffer.Length < PreambleLengthSize + length)
        {
            return 0;
        }
        check = Offset(MessageShape.CheckFields(buffer.Slice(PreambleLengthSize, length), limits.Depth), PreambleLengthSize);
        return check.IsAccepted ? PreambleLengthSize + length : 0;
    }

    // The length of the frame at the head of the buffer if it is whole and accepted; zero when more is needed.
    private static long NextFrame(ReadOnlySequence<byte> buffer, Limits limits, out ShapeCheck check)
    {
        check = ShapeCheck.Accepted;
        if (!TryReadInt32(buffer, 0, out var headerLength) || !TryReadInt32(buffer, 4, out var bodyLength))
        {
            return 0;
        }
        // As Orleans checks them: a header must have something in it, a body may be empty.
        if (headerLength <= 0 || headerLength > limits.HeaderBytes || bodyLength < 0 || bodyLength > limits.BodyBytes)
        {
            check = new(ShapeRefusal.FrameLength, 0);
            return 0;
        }
        var length = FrameLengthSize + (long)headerLength + bodyLength;
        if (buffer.Length < length)
        {
            return 0;
        }
        check = Offset(MessageShape.CheckHeader(buffer.Slice(FrameLengthSize, headerLength), limits.Depth), FrameLengthSize);
        if (check.IsAccepted)
        {
            check = Offset(MessageShape.CheckFields(buffer.Slice(FrameLengthSize + headerLength, bodyLength), limits.Depth), FrameLengthSize + headerLength);
        }
        return check.IsAccepted ? length : 0;
    }

    private static void Copy(ReadOnlySequence<byte> bytes, PipeWriter output)
    {
        foreach (var segment in bytes)
        {
            output.Write(segment.Span);
        }
    }

    private static int HeaderLength(ReadOnlySequence<byte> frame) => TryReadInt32(frame, 0, out var length) ? length : 0;

    private static ShapeCheck Offset(ShapeCheck check, long by) => check.IsAccepted ? check : check with { Position = check.Position + by };

    private static bool TryReadInt32(ReadOnlySequence<byte> buffer, int offset, out int value)
    {
        Span<byte> bytes = stackalloc byte[4];
        if (buffer.Length < offset + 4)
        {
            value = 0;
            return false;
        }
        buffer.Slice(offset, 4).CopyTo(bytes);
        value = BinaryPrimitives.ReadInt32LittleEndian(bytes);
        return true;
    }

    private void Refuse(ConnectionContext context, ShapeCheck check)
    {
        GrantSiloMetrics.GatewayFramesRefused.Add(1, new KeyValuePair<string, object?>("refusal", check.Refusal));
        if (records.TryRecord(out var unrecorded))
        {
            var peer = context.RemoteEndPoint?.ToString() ?? "an unknown peer";
            LogFrameRefused(logger, peer, check.Refusal, check.Position);
            if (unrecorded > 0)
            {
                AuditRefusal(RefusalRecords.Unrecorded(unrecorded));
            }
            AuditRefusal($"Closed a gateway connection from {peer}: a message frame was refused before it was read ({check.Refusal} at offset {check.Position}).");
        }
        context.Abort(new ConnectionAbortedException("GrantSilo refused a message frame on this gateway connection."));
    }

    // A refusal on the audit log, as the door records the callers it refuses: nobody authenticated (nothing of the frame
    // was read), the gateway as the operation, the reason and the peer in the detail, never the bytes. Not waited for: a
    // flood of refused frames must never hold up the gateway; a full queue drops it (the log line still says it happened).
    private void AuditRefusal(string detail)
    {
        if (services.GetService(typeof(Audit.IAuditTrail)) is not Audit.IAuditTrail trail)
        {
            return;
        }
        var clock = services.GetService(typeof(TimeProvider)) as TimeProvider ?? TimeProvider.System;
        var record = new GrantSilo.AuditRecord
        {
            Id = Audit.AuditIds.New(clock),
            Kind = GrantSilo.AuditEventKind.CallerRefused,
            At = clock.GetUtcNow(),
            Action = "gateway",
            Decision = GrantSilo.DecisionKind.Deny,
            Reason = GrantSilo.DecisionReason.CallerUnauthenticated,
            Detail = detail,
        };
        Audit.AuditTrailExtensions.RecordDetached(trail, record);
    }

    private readonly record struct Limits(int HeaderBytes, int BodyBytes, int Depth);

    private sealed class GuardedTransport(PipeReader input, PipeWriter output) : IDuplexPipe
    {
        public PipeReader Input { get; } = input;

        public PipeWriter Output { get; } = output;
    }

    [LoggerMessage(EventId = 4109, Level = LogLevel.Warning, Message = "Closed a gateway connection from {Peer}: a message frame was refused before it was read ({Refusal} at offset {Offset}).")]
    private static partial void LogFrameRefused(ILogger logger, string peer, ShapeRefusal refusal, long offset);
}
