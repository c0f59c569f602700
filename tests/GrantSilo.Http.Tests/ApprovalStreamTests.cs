using System.Text.Json;
using GrantSilo.Http;

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
