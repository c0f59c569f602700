using System.Buffers;
using System.Net.ServerSentEvents;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using System.Threading.Channels;
using GrantSilo.Client;
using GrantSilo.GrainInterfaces;
using Microsoft.AspNetCore.Http;

namespace GrantSilo.Http;

/// <summary>
/// <c>GET /v1/approvals/stream</c>: the step-up requests and their outcomes as server-sent events, for approvers over HTTP
/// (the SDK's <see cref="IApprovalObserver"/>). The stream opens with a <c>pending</c> event for every approval still
/// waiting, then sends <c>requested</c> and <c>resolved</c> events as they happen, each with the approval id as its event id.
/// A reader that falls <see cref="Capacity"/> events behind loses the oldest, and is told so by a <c>dropped</c> event
/// (<c>{"dropped": n}</c>) before the next one it gets: the list it keeps is incomplete, so it lists the pending
/// approvals again (or reconnects, which starts with them).
/// It needs the <c>approval.watch</c> operation, and ends when the caller's token expires: reconnect with a fresh one.
/// </summary>
internal sealed class ApprovalStream : IApprovalObserver
{
    /// <summary>Events a slow reader may fall behind by before the oldest are dropped (a <see cref="Dropped"/> event says how many).</summary>
    public const int Capacity = 1024;

    public const string Pending = "pending";
    public const string Requested = "requested";
    public const string Resolved = "resolved";
    public const string Dropped = "dropped";

    private readonly Channel<SseItem<ApprovalInfo>> _events;

    // Events dropped since the reader was last told (the channel drops the oldest when a slow reader leaves it full).
    private int _dropped;

    public ApprovalStream() => _events = Channel.CreateBounded<SseItem<ApprovalInfo>>(
        new BoundedChannelOptions(Capacity) { FullMode = BoundedChannelFullMode.DropOldest, SingleReader = true },
        _ => Interlocked.Increment(ref _dropped));

    public Task OnApprovalRequestedAsync(ApprovalInfo approval)
    {
        _events.Writer.TryWrite(new SseItem<ApprovalInfo>(approval, Requested) { EventId = approval.ApprovalId });
        return Task.CompletedTask;
    }

    public Task OnApprovalResolvedAsync(ApprovalInfo approval)
    {
        _events.Writer.TryWrite(new SseItem<ApprovalInfo>(approval, Resolved) { EventId = approval.ApprovalId });
        return Task.CompletedTask;
    }

    public static async Task<IResult> OpenAsync(HttpContext http, CancellationToken cancellationToken)
    {
        var caller = HttpCaller.Of(http)!;
        var client = caller.Client(http);
        var stream = new ApprovalStream();
        // Subscribed first, listed second: an approval requested in between is sent twice rather than never.
        var subscription = await client.SubscribeApprovalsAsync(stream, cancellationToken).ConfigureAwait(false);
        if (!subscription.IsSuccess)
        {
            return Problems.From(subscription.Error!);
        }
        var pending = await client.ListPendingApprovalsAsync(cancellationToken).ConfigureAwait(false);
        if (!pending.IsSuccess)
        {
            await subscription.Value.DisposeAsync().ConfigureAwait(false);
            return Problems.From(pending.Error!);
        }
        var events = stream.ReadAsync(subscription.Value, pending.Value, caller.Caller.ExpiresAt, cancellationToken);
        return TypedResults.Stream(async body =>
        {
            http.Response.Headers.CacheControl = "no-cache";
            // A comment first, flushed: the watcher sees the stream open (its 200 and headers) even when nothing waits
            // yet, rather than nothing at all until the first step-up.
            await body.WriteAsync(": watching approvals\n\n"u8.ToArray(), http.RequestAborted).ConfigureAwait(false);
            await body.FlushAsync(http.RequestAborted).ConfigureAwait(false);
            try
            {
                await SseFormatter.WriteAsync(events, body, static (item, buffer) => buffer.Write(Encoding.UTF8.GetBytes(item.Data)), http.RequestAborted).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                // The watcher left: the stream ends (and its subscription with it).
            }
        }, "text/event-stream");
    }

    /// <summary>The events, as JSON text (the approvals, and how many were dropped); <paramref name="subscription"/> ends with them.</summary>
    internal async IAsyncEnumerable<SseItem<string>> ReadAsync(IAsyncDisposable subscription, IReadOnlyList<ApprovalInfo> pending, DateTimeOffset until, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        using var expiry = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var left = until - DateTimeOffset.UtcNow;
        expiry.CancelAfter(left > TimeSpan.Zero ? left : TimeSpan.Zero);
        try
        {
            foreach (var approval in pending)
            {
                yield return Json(new SseItem<ApprovalInfo>(approval, Pending) { EventId = approval.ApprovalId });
            }
            while (true)
            {
                SseItem<ApprovalInfo> next;
                try
                {
                    if (!await _events.Reader.WaitToReadAsync(expiry.Token).ConfigureAwait(false))
                    {
                        yield break;
                    }
                    next = await _events.Reader.ReadAsync(expiry.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    // The caller left, or its token expired: the stream ends.
                    yield break;
                }
                if (Interlocked.Exchange(ref _dropped, 0) is > 0 and var lost)
                {
                    yield return new SseItem<string>(JsonSerializer.Serialize(new DroppedEvents(lost), HttpJson.Options), Dropped);
                }
                yield return Json(next);
            }
        }
        finally
        {
            await subscription.DisposeAsync().ConfigureAwait(false);
        }
    }

    private static SseItem<string> Json(SseItem<ApprovalInfo> item) =>
        new(JsonSerializer.Serialize(item.Data, HttpJson.Options), item.EventType) { EventId = item.EventId };

    /// <summary>The data of a <see cref="Dropped"/> event.</summary>
    internal sealed record DroppedEvents(int Dropped);
}
