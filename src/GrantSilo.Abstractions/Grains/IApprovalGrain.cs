using Orleans.Concurrency;

namespace GrantSilo.GrainInterfaces;

/// <summary>
/// A step-up approval, keyed by approval id: exactly one (credential, action, resource) awaiting a
/// person. Approved approvals are single-use; undecided or unused ones time out as a deny.
/// </summary>
[Alias("grantsilo.IApprovalGrain")]
public interface IApprovalGrain : IGrainWithStringKey
{
    [AlwaysInterleave, Alias("Get"), CallerOperation(CallerOperations.ApprovalRead)]
    Task<GrantResult<ApprovalInfo>> GetAsync(CancellationToken cancellationToken = default);

    /// <summary>A person approves; the agent may then retry the request once with the approval id.</summary>
    [Alias("Approve"), CallerOperation(CallerOperations.ApprovalDecide)]
    Task<GrantResult<ApprovalInfo>> ApproveAsync(string approver, string? comment, CancellationToken cancellationToken = default);

    /// <summary>A person denies; a retry with the approval id is denied.</summary>
    [Alias("Deny"), CallerOperation(CallerOperations.ApprovalDecide)]
    Task<GrantResult<ApprovalInfo>> DenyAsync(string approver, string? reason, CancellationToken cancellationToken = default);
}

/// <summary>
/// Receives step-up requests (approvers subscribe through the client SDK). Its calls are one way: the hub does not wait
/// for an approver's process, and a client never sends the silo an answer (the gateway closes a connection that does).
/// A subscription whose approver has gone lapses when it is not renewed (<see cref="ApprovalSubscriptions.Lifetime"/>).
/// </summary>
[Alias("grantsilo.IApprovalObserver")]
public interface IApprovalObserver : IGrainObserver
{
    /// <summary>A new approval awaits a decision.</summary>
    [Alias("OnApprovalRequested"), OneWay]
    Task OnApprovalRequestedAsync(ApprovalInfo approval);

    /// <summary>An approval was approved, denied, expired or used.</summary>
    [Alias("OnApprovalResolved"), OneWay]
    Task OnApprovalResolvedAsync(ApprovalInfo approval);
}

/// <summary>
/// Where approvers subscribe to step-up requests (singleton, key 0). Subscriptions expire after
/// <see cref="ApprovalSubscriptions.Lifetime"/> unless renewed by subscribing again (the SDK renews them).
/// </summary>
[Alias("grantsilo.IApprovalHubGrain")]
public interface IApprovalHubGrain : IGrainWithIntegerKey
{
    /// <summary>
    /// Subscribes (or renews) an observer; returns when the subscription lapses unless renewed. A new subscription is
    /// refused with <see cref="GrantErrorCode.QuotaExceeded"/> while the hub holds as many as it allows.
    /// </summary>
    [Alias("Subscribe"), CallerOperation(CallerOperations.ApprovalWatch)]
    Task<GrantResult<DateTimeOffset>> SubscribeAsync(IApprovalObserver observer, CancellationToken cancellationToken = default);

    [Alias("Unsubscribe"), CallerOperation(CallerOperations.ApprovalWatch)]
    Task UnsubscribeAsync(IApprovalObserver observer);

    /// <summary>Approvals still waiting for a decision (for approvers who were not subscribed when they were requested).</summary>
    [AlwaysInterleave, Alias("ListPending"), CallerOperation(CallerOperations.ApprovalWatch)]
    Task<IReadOnlyList<ApprovalInfo>> ListPendingAsync(CancellationToken cancellationToken = default);
}

/// <summary>Timing of approval subscriptions.</summary>
public static class ApprovalSubscriptions
{
    /// <summary>How long a subscription lasts without renewal (5 minutes).</summary>
    public static readonly TimeSpan Lifetime = TimeSpan.FromMinutes(5);

    /// <summary>How often the SDK renews a subscription (every minute).</summary>
    public static readonly TimeSpan RenewEvery = TimeSpan.FromMinutes(1);
}
