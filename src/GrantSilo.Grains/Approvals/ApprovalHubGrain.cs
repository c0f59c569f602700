using GrantSilo.Grains.Diagnostics;
using Microsoft.Extensions.Logging;

namespace GrantSilo.Grains.Approvals;

/// <summary>
/// Tells subscribed approvers about step-up requests and their outcomes (key 0). Subscriptions live
/// in memory and expire unless renewed (the SDK renews them); an observer that fails a call is
/// dropped. Notification is best-effort: the approvals themselves are durable, and
/// <see cref="ListPendingAsync"/> shows the ones still waiting that this hub has heard of.
/// </summary>
internal sealed partial class ApprovalHubGrain(ILogger<ApprovalHubGrain> logger) : Grain, IApprovalHubGrain, IApprovalHubNotifyGrain
{
    private static readonly TimeSpan NotifyTimeout = TimeSpan.FromSeconds(10);
    private const int MaxPendingKept = 10_000;

    private readonly TimeProvider _clock = TimeProvider.System;
    private readonly Dictionary<IApprovalObserver, DateTimeOffset> _observers = [];
    private readonly Dictionary<string, ApprovalInfo> _pending = [];

    public Task SubscribeAsync(IApprovalObserver observer, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(observer);
        _observers[observer] = _clock.GetUtcNow() + ApprovalSubscriptions.Lifetime;
        return Task.CompletedTask;
    }

    public Task UnsubscribeAsync(IApprovalObserver observer)
    {
        if (observer is not null)
        {
            _observers.Remove(observer);
        }
        return Task.CompletedTask;
    }

    public Task<IReadOnlyList<ApprovalInfo>> ListPendingAsync(CancellationToken cancellationToken)
    {
        return Task.FromResult<IReadOnlyList<ApprovalInfo>>([.. _pending.Values.OrderBy(a => a.RequestedAt)]);
    }

    public Task RequestedAsync(ApprovalInfo approval)
    {
        if (_pending.Count < MaxPendingKept)
        {
            _pending[approval.ApprovalId] = approval;
        }
        return NotifyAsync(approval, static (observer, a) => observer.OnApprovalRequestedAsync(a));
    }

    public Task ResolvedAsync(ApprovalInfo approval)
    {
        _pending.Remove(approval.ApprovalId);
        return NotifyAsync(approval, static (observer, a) => observer.OnApprovalResolvedAsync(a));
    }

    private async Task NotifyAsync(ApprovalInfo approval, Func<IApprovalObserver, ApprovalInfo, Task> call)
    {
        var now = _clock.GetUtcNow();
        foreach (var expired in _observers.Where(o => o.Value <= now).Select(o => o.Key).ToList())
        {
            _observers.Remove(expired);
        }
        var failed = new List<IApprovalObserver>();
        await Task.WhenAll(_observers.Keys.ToList().Select(async observer =>
        {
            try
            {
                await call(observer, approval).WaitAsync(NotifyTimeout, _clock);
            }
            catch (Exception exception)
            {
                LogNotifyFailed(logger, exception, approval.ApprovalId);
                failed.Add(observer);
            }
        }));
        foreach (var observer in failed)
        {
            _observers.Remove(observer);
        }
    }

    [LoggerMessage(EventId = (int)LogEvents.ApprovalNotifyFailed, Level = LogLevel.Warning, Message = "An approver could not be told about approval {ApprovalId}; its subscription is dropped")]
    private static partial void LogNotifyFailed(ILogger logger, Exception exception, string approvalId);
}
