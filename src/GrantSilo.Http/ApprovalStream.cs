using System.Buffers;
using System.Net.ServerSentEvents;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using System.Threading.Channels;
using GrantSilo.Client;
using GrantSilo.GrainInterfaces;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace GrantSilo.Http;

/// <summary>
/// <c>GET /v1/approvals/stream</c>: the step-up requests and their outcomes as server-sent events, for approvers over HTTP
/// (the SDK's <see cref="IApprovalObserver"/>). The stream opens with a <c>pending</c> event for every approval still
/// waiting, then sends <c>requested</c> and <c>resolved</c> events as they happen, each with the approval id as its event id.
/// A reader that falls <see cref="Capacity"/> events behind loses the oldest, and is told so by a <c>dropped</c> event
/// (<c>{"dropped": n}</c>) before the next one it gets: the list it keeps is incomplete, so it lists the pending
/// approvals again (or reconnects, which starts with them).
/// It needs the <c>approval.watch</c> operation, and ends when the caller's token expires: reconnect with a fresh one.
/// A caller has at most <see cref="HttpApiOptions.MaxStreamsPerCaller"/> streams open at once (<see cref="StreamSlots"/>).
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

    public static Task<IResult> OpenAsync(HttpContext http, CancellationToken cancellationToken)
    {
        var caller = HttpCaller.Of(http)!;
        if (http.RequestServices.GetRequiredService<StreamSlots>().TryOpen(http, caller.Caller.Name) is { } tooMany)
        {
            return Task.FromResult(tooMany);
        }
        var client = caller.Client(http);
        return OpenAsync(http, client.SubscribeApprovalsAsync, client.ListPendingApprovalsAsync, caller.Caller.ExpiresAt, cancellationToken);
    }

    /// <summary>
    /// Subscribes, lists what is pending, and answers the stream. Once subscribed, the subscription ends on every path:
    /// a failed or abandoned listing, a watcher gone before the stream is written, the stream's end; whichever comes first.
    /// </summary>
    internal static async Task<IResult> OpenAsync<TSubscription>(
        HttpContext http,
        Func<IApprovalObserver, CancellationToken, Task<GrantResult<TSubscription>>> subscribe,
        Func<CancellationToken, Task<GrantResult<IReadOnlyList<ApprovalInfo>>>> listPending,
        DateTimeOffset until,
        CancellationToken cancellationToken)
        where TSubscription : IAsyncDisposable
    {
        var stream = new ApprovalStream();
        // Subscribed first, listed second: an approval requested in between is sent twice rather than never.
        var subscribed = await subscribe(stream, cancellationToken).ConfigureAwait(false);
        if (!subscribed.IsSuccess)
        {
            return Problems.From(subscribed.Error!);
        }
        var subscription = new EndsOnce(subscribed.Value);
        // Whatever ends the request ends the subscription too, should nothing below have ended it: the response's
        // stream callback may never run (the watcher gone before it is written), and then neither does the reader's finally.
        http.Response.RegisterForDisposeAsync(subscription);
        IResult events;
        try
        {
            var pending = await listPending(cancellationToken).ConfigureAwait(false);
            if (!pending.IsSuccess)
            {
                await subscription.DisposeAsync().ConfigureAwait(false);
                return Problems.From(pending.Error!);
            }
            events = Events(http, stream.ReadAsync(subscription, pending.Value, until, cancellationToken), subscription);
        }
        catch
        {
            // The watcher left while the pending approvals were listed (the client re-throws its cancellation), or the
            // listing failed: no stream, so no subscription renewed for it.
            await subscription.DisposeAsync().ConfigureAwait(false);
            throw;
        }
        return events;
    }

    private static IResult Events(HttpContext http, IAsyncEnumerable<SseItem<string>> events, IAsyncDisposable subscription) =>
        TypedResults.Stream(async body =>
        {
            try
            {
                http.Response.Headers.CacheControl = "no-cache";
                // A comment first, flushed: the watcher sees the stream open (its 200 and headers) even when nothing waits
                // yet, rather than nothing at all until the first step-up.
                await body.WriteAsync(": watching approvals\n\n"u8.ToArray(), http.RequestAborted).ConfigureAwait(false);
                await body.FlushAsync(http.RequestAborted).ConfigureAwait(false);
                await SseFormatter.WriteAsync(events, body, static (item, buffer) => buffer.Write(Encoding.UTF8.GetBytes(item.Data)), http.RequestAborted).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                // The watcher left: the stream ends (and its subscription with it).
            }
            finally
            {
                await subscription.DisposeAsync().ConfigureAwait(false);
            }
        }, "text/event-stream");

    /// <summary>The events, as JSON text (the approvals, and how many were dropped); <paramref name="subscription"/> ends with them.</summary>
    internal async IAsyncEnumerable<SseItem<string>> ReadAsync(IAsyncDisposable subscription, IReadOnlyList<ApprovalInfo> pending, DateTimeOffset until, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        try
        {
            // The caller's token ends the stream when it expires (or a little under 50 days on, for a longer-lived one).
            using var expiry = StreamLifetime.Until(until, DateTimeOffset.UtcNow, cancellationToken);
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

    // A subscription ended by whichever of its ends comes first, and only once.
    private sealed class EndsOnce(IAsyncDisposable subscription) : IAsyncDisposable
    {
        private int _ended;

        public ValueTask DisposeAsync() => Interlocked.Exchange(ref _ended, 1) == 0 ? subscription.DisposeAsync() : ValueTask.CompletedTask;
    }
}
