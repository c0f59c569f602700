using System.Text.Json;
using GrantSilo.Http;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Options;

namespace GrantSilo.Http.Tests;

public sealed class ApprovalStreamTests
{
    private static ApprovalInfo Approval(int n) => new()
    {
        ApprovalId = $"a-{n}",
        CredentialId = "c-1",
        TaskId = "t-1",
        Agent = "spiffe://test.dev/agent",
        RootPerson = "person:pat@test.dev",
        Action = "read",
        Resource = new ResourceRef { Type = "secret", Path = $"payments/{n}" },
    };

    [Fact]
    public async Task ASlowReader_IsToldHowManyEventsItLost_BeforeTheNextOne()
    {
        var stream = new ApprovalStream();
        const int lost = 7;
        for (var n = 0; n < ApprovalStream.Capacity + lost; n++)
        {
            await stream.OnApprovalRequestedAsync(Approval(n));
        }
        var subscription = new Subscription();
        var events = new List<System.Net.ServerSentEvents.SseItem<string>>();
        await foreach (var item in stream.ReadAsync(subscription, [Approval(-1)], DateTimeOffset.UtcNow.AddMinutes(5), CancellationToken.None))
        {
            events.Add(item);
            if (events.Count == ApprovalStream.Capacity + 2)
            {
                break;
            }
        }

        // The pending list first, then the drop announced, then the newest events the stream kept, oldest first.
        Assert.Equal((ApprovalStream.Pending, "a--1"), (events[0].EventType, events[0].EventId));
        Assert.Equal(ApprovalStream.Dropped, events[1].EventType);
        Assert.Equal(lost, JsonDocument.Parse(events[1].Data).RootElement.GetProperty("dropped").GetInt32());
        Assert.Equal((ApprovalStream.Requested, $"a-{lost}"), (events[2].EventType, events[2].EventId));
        Assert.Equal($"payments/{lost}", JsonDocument.Parse(events[2].Data).RootElement.GetProperty("resource").GetProperty("path").GetString());
        Assert.Equal($"a-{ApprovalStream.Capacity + lost - 1}", events[^1].EventId);
        Assert.Single(events, e => e.EventType == ApprovalStream.Dropped);
        // The reader left: the subscription ended with it.
        Assert.True(subscription.Disposed);
    }

    [Fact]
    public async Task AReaderThatKeepsUp_IsNeverToldOfADrop()
    {
        var stream = new ApprovalStream();
        await stream.OnApprovalRequestedAsync(Approval(1));
        await stream.OnApprovalResolvedAsync(Approval(1) with { Status = ApprovalStatus.Denied });
        var events = new List<System.Net.ServerSentEvents.SseItem<string>>();
        await foreach (var item in stream.ReadAsync(new Subscription(), [], DateTimeOffset.UtcNow.AddMinutes(5), CancellationToken.None))
        {
            events.Add(item);
            if (events.Count == 2)
            {
                break;
            }
        }
        Assert.Equal([ApprovalStream.Requested, ApprovalStream.Resolved], events.Select(e => e.EventType));
        Assert.Equal("denied", JsonDocument.Parse(events[1].Data).RootElement.GetProperty("status").GetString());
    }

    [Fact]
    public async Task AStreamForATokenLivingLongerThanATimerAllows_EndsWhenTheWatcherLeaves_AndEndsItsSubscription()
    {
        // CancelAfter takes at most about 49.7 days: a caller token with a longer life must not break the stream.
        var subscription = new Subscription();
        using var left = new CancellationTokenSource();
        await using var events = new ApprovalStream().ReadAsync(subscription, [], DateTimeOffset.UtcNow.AddDays(60), left.Token).GetAsyncEnumerator(left.Token);
        var next = events.MoveNextAsync().AsTask();
        Assert.False(next.IsCompleted, next.Exception?.ToString() ?? "The stream ended before the watcher left.");
        await left.CancelAsync();
        Assert.False(await next.WaitAsync(TimeSpan.FromSeconds(30)));
        Assert.True(subscription.Disposed);
    }

    [Fact]
    public async Task AWatcherThatLeavesWhileThePendingApprovalsAreListed_EndsItsSubscription()
    {
        var subscription = new Subscription();
        using var left = new CancellationTokenSource();
        await left.CancelAsync();
        // The client re-throws its caller's cancellation rather than answer a failed result.
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => ApprovalStream.OpenAsync(
            new DefaultHttpContext(),
            (_, _) => Task.FromResult(GrantResult<Subscription>.Ok(subscription)),
            ct => Task.FromCanceled<GrantResult<IReadOnlyList<ApprovalInfo>>>(ct),
            DateTimeOffset.UtcNow.AddMinutes(5),
            left.Token));
        Assert.True(subscription.Disposed);
    }

    [Fact]
    public async Task AFailedListing_IsAProblem_AndEndsTheSubscription()
    {
        var subscription = new Subscription();
        var answer = await ApprovalStream.OpenAsync(
            new DefaultHttpContext(),
            (_, _) => Task.FromResult(GrantResult<Subscription>.Ok(subscription)),
            _ => Task.FromResult(GrantResult<IReadOnlyList<ApprovalInfo>>.Fail(GrantErrorCode.Unavailable, "not now")),
            DateTimeOffset.UtcNow.AddMinutes(5),
            CancellationToken.None);
        Assert.Equal(StatusCodes.Status503ServiceUnavailable, Assert.IsAssignableFrom<IStatusCodeHttpResult>(answer).StatusCode);
        Assert.True(subscription.Disposed);
    }

    [Fact]
    public async Task AStreamNeverWritten_EndsItsSubscriptionWithTheRequest()
    {
        // The watcher gone before the stream's first write: the reader never starts, and the request's end ends the subscription.
        var subscription = new Subscription();
        var http = new DefaultHttpContext();
        var completed = new ResponseCompleted();
        http.Features.Set<IHttpResponseFeature>(completed);
        var answer = await ApprovalStream.OpenAsync(
            http,
            (_, _) => Task.FromResult(GrantResult<Subscription>.Ok(subscription)),
            _ => Task.FromResult(GrantResult<IReadOnlyList<ApprovalInfo>>.Ok([])),
            DateTimeOffset.UtcNow.AddMinutes(5),
            CancellationToken.None);
        Assert.Equal("text/event-stream", Assert.IsAssignableFrom<IContentTypeHttpResult>(answer).ContentType);
        Assert.False(subscription.Disposed);
        await completed.CompleteAsync();
        Assert.True(subscription.Disposed);
    }

    [Fact]
    public void StreamSlots_RefuseOneStreamMoreThanACallerMayHave_AndGiveSlotsBackWhenRequestsEnd()
    {
        var slots = new StreamSlots(Options.Create(new HttpApiOptions { MaxStreamsPerCaller = 2 }));
        var requests = Enumerable.Range(0, 3).Select(_ => new DefaultHttpContext()).ToList();
        var ends = requests.Select(r => { var end = new ResponseCompleted(); r.Features.Set<IHttpResponseFeature>(end); return end; }).ToList();

        Assert.Null(slots.TryOpen(requests[0], "person:pat@test.dev"));
        Assert.Null(slots.TryOpen(requests[1], "person:pat@test.dev"));
        var refused = slots.TryOpen(requests[2], "person:pat@test.dev");
        Assert.Equal(StatusCodes.Status429TooManyRequests, Assert.IsAssignableFrom<IStatusCodeHttpResult>(refused).StatusCode);
        // Another caller has its own.
        Assert.Null(slots.TryOpen(new DefaultHttpContext(), "person:sam@test.dev"));

        ends[0].Complete();
        Assert.Equal(1, slots.OpenOf("person:pat@test.dev"));
        Assert.Null(slots.TryOpen(requests[2], "person:pat@test.dev"));
        ends[1].Complete();
        ends[2].Complete();
        Assert.Equal(0, slots.OpenOf("person:pat@test.dev"));
    }

    // A response whose end the test decides: what was registered for disposal runs then.
    private sealed class ResponseCompleted : HttpResponseFeature
    {
        private readonly List<(Func<object, Task> Callback, object State)> _completed = [];

        public override void OnCompleted(Func<object, Task> callback, object state) => _completed.Add((callback, state));

        public async Task CompleteAsync()
        {
            foreach (var (callback, state) in Enumerable.Reverse(_completed))
            {
                await callback(state);
            }
        }

        public void Complete() => CompleteAsync().GetAwaiter().GetResult();
    }

    private sealed class Subscription : IAsyncDisposable
    {
        public bool Disposed { get; private set; }

        public ValueTask DisposeAsync()
        {
            Disposed = true;
            return ValueTask.CompletedTask;
        }
    }
}
