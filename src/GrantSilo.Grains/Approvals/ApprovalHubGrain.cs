using GrantSilo.Grains.Diagnostics;
using GrantSilo.Grains.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace GrantSilo.Grains.Approvals;

/// <summary>
/// Tells subscribed approvers about step-up requests and their outcomes (key 0). Subscriptions live
/// in memory and expire unless renewed (the SDK renews them); an observer that fails a call is
/// dropped. Notification is best-effort: the approvals themselves are durable, and
/// <see cref="ListPendingAsync"/> shows the ones still waiting that this hub has heard of. Both lists
/// are bounded (<see cref="GrantSiloOptions.MaxApprovalSubscriptions"/>,
/// <see cref="GrantSiloOptions.MaxPendingApprovals"/>): past them, new subscriptions and new step-up
/// requests are refused.
/// </summary>
internal sealed partial class ApprovalHubGrain(
    IOptions<GrantSiloOptions> options,
    [FromKeyedServices(GrantSiloTime.ServiceKey)] TimeProvider grantClock,
    ILogger<ApprovalHubGrain> logger) : Grain, IApprovalHubGrain, IApprovalHubNotifyGrain
{
    private static readonly TimeSpan NotifyTimeout = TimeSpan.FromSeconds(10);

    // Subscriptions run on real time (the SDK renews them on real time); approvals' deadlines on the grant clock.
    private readonly TimeProvider _clock = TimeProvider.System;
    private readonly Dictionary<IApprovalObserver, DateTimeOffset> _observers = [];
    private readonly Dictionary<string, ApprovalInfo> _pending = [];

    // How many of the pending approvals each agent has: its share is checked on every admission.
    private readonly Dictionary<string, int> _pendingPerAgent = new(StringComparer.Ordinal);

    public Task<GrantResult<DateTimeOffset>> SubscribeAsync(IApprovalObserver observer, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(observer);
        if (!IsClientObserver(observer))
        {
            // The hub calls what it is given: anything but a client's observer (a grain, a system target, an id whose hash
            // is not its own) would have it call that instead.
            return Task.FromResult(GrantResult<DateTimeOffset>.Fail(GrantErrorCode.InvalidArgument, "The subscriber is not a client's observer: subscribe with an observer made by IGrainFactory.CreateObjectReference."));
        }
        var now = _clock.GetUtcNow();
        if (!_observers.ContainsKey(observer) && _observers.Count >= options.Value.MaxApprovalSubscriptions)
        {
            DropLapsedSubscriptions(now);
            if (_observers.Count >= options.Value.MaxApprovalSubscriptions)
            {
                LogFull(logger, nameof(GrantSiloOptions.MaxApprovalSubscriptions));
                return Task.FromResult(GrantResult<DateTimeOffset>.Fail(GrantErrorCode.QuotaExceeded, $"The approval hub already has {options.Value.MaxApprovalSubscriptions} subscriptions, the limit; unsubscribe some, or raise GrantSilo:Lifecycle:{nameof(GrantSiloOptions.MaxApprovalSubscriptions)}."));
            }
        }
        var until = now + ApprovalSubscriptions.Lifetime;
        _observers[observer] = until;
        return Task.FromResult(GrantResult<DateTimeOffset>.Ok(until));
    }

    // A client observer's id: a client's grain type, a key of the client's id and the observer's joined by '+', and the hashes
    // Orleans computes for those bytes.
    internal static bool IsClientObserver(IApprovalObserver observer)
    {
        if (observer is not GrainReference reference)
        {
            return false;
        }
        var id = reference.GrainId;
        return id.IsClient()
            && id.Key.AsSpan().Contains((byte)'+')
            && id.Type.Value.GetHashCode() == (int)StableHash.ComputeHash(id.Type.Value.AsSpan())
            && id.Key.GetHashCode() == (int)StableHash.ComputeHash(id.Key.AsSpan());
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
        DropTimedOut();
        return Task.FromResult<IReadOnlyList<ApprovalInfo>>([.. _pending.Values.OrderBy(a => a.RequestedAt)]);
    }

    public Task<ApprovalAdmission> AdmitAsync(ApprovalInfo approval)
    {
        if (!_pending.ContainsKey(approval.ApprovalId))
        {
            if (_pending.Count >= options.Value.MaxPendingApprovals || PendingOf(approval.Agent) >= options.Value.MaxPendingApprovalsPerAgent)
            {
                DropTimedOut();
            }
            if (_pending.Count >= options.Value.MaxPendingApprovals)
            {
                LogFull(logger, nameof(GrantSiloOptions.MaxPendingApprovals));
                return Task.FromResult(ApprovalAdmission.HubFull);
            }
            // One agent's share: its step-ups alone can never fill the hub and deny everyone else's.
            if (PendingOf(approval.Agent) >= options.Value.MaxPendingApprovalsPerAgent)
            {
                LogAgentFull(logger, approval.Agent, nameof(GrantSiloOptions.MaxPendingApprovalsPerAgent));
                return Task.FromResult(ApprovalAdmission.AgentFull);
            }
        }
        List(approval);
        return Task.FromResult(ApprovalAdmission.Admitted);
    }

    public Task WithdrawAsync(string approvalId)
    {
        Unlist(approvalId);
        GrantSilo.Grains.Diagnostics.GrantSiloMetrics.SetPendingApprovals(_pending.Count);
        return Task.CompletedTask;
    }

    public Task RequestedAsync(ApprovalInfo approval) =>
        NotifyAsync(approval, static (observer, a) => observer.OnApprovalRequestedAsync(a));

    public Task ResolvedAsync(ApprovalInfo approval)
    {
        Unlist(approval.ApprovalId);
        GrantSilo.Grains.Diagnostics.GrantSiloMetrics.SetPendingApprovals(_pending.Count);
        return NotifyAsync(approval, static (observer, a) => observer.OnApprovalResolvedAsync(a));
    }

    // An approval past its deadline is a deny whether or not its expiry was heard of: it waits for no one.
    private void DropTimedOut()
    {
        var now = grantClock.GetUtcNow();
        foreach (var id in _pending.Where(p => p.Value.ExpiresAt <= now).Select(p => p.Key).ToList())
        {
            Unlist(id);
        }
        GrantSilo.Grains.Diagnostics.GrantSiloMetrics.SetPendingApprovals(_pending.Count);
    }

    private int PendingOf(string agent) => _pendingPerAgent.GetValueOrDefault(agent);

    private void List(ApprovalInfo approval)
    {
        if (_pending.TryGetValue(approval.ApprovalId, out var listed))
        {
            Forget(listed.Agent);
        }
        _pending[approval.ApprovalId] = approval;
        _pendingPerAgent[approval.Agent] = PendingOf(approval.Agent) + 1;
        GrantSilo.Grains.Diagnostics.GrantSiloMetrics.SetPendingApprovals(_pending.Count);
    }

    private void Unlist(string approvalId)
    {
        if (_pending.Remove(approvalId, out var listed))
        {
            Forget(listed.Agent);
        }
    }

    private void Forget(string agent)
    {
        if (PendingOf(agent) <= 1)
        {
            _pendingPerAgent.Remove(agent);
        }
        else
        {
            _pendingPerAgent[agent]--;
        }
    }

    private void DropLapsedSubscriptions(DateTimeOffset now)
    {
        foreach (var expired in _observers.Where(o => o.Value <= now).Select(o => o.Key).ToList())
        {
            _observers.Remove(expired);
        }
    }

    private async Task NotifyAsync(ApprovalInfo approval, Func<IApprovalObserver, ApprovalInfo, Task> call)
    {
        DropLapsedSubscriptions(_clock.GetUtcNow());
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

    [LoggerMessage(EventId = (int)LogEvents.ApprovalHubFull, Level = LogLevel.Warning, Message = "The approval hub is full ({Setting}); new entries are refused")]
    private static partial void LogFull(ILogger logger, string setting);

    [LoggerMessage(EventId = (int)LogEvents.ApprovalAgentShareFull, Level = LogLevel.Warning, Message = "Agent {Agent} has as many approvals waiting as it may ({Setting}); its new step-up requests are refused")]
    private static partial void LogAgentFull(ILogger logger, string agent, string setting);
}
