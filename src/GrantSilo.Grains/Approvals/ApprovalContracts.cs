using Orleans.Concurrency;

namespace GrantSilo.Grains.Approvals;

/// <summary>Everything a credential hands a new approval.</summary>
[GenerateSerializer, Immutable, Alias("grantsilo.approval-spec")]
internal sealed record ApprovalSpec
{
    [Id(0)] public required string CredentialId { get; init; }
    [Id(1)] public required string TaskId { get; init; }
    [Id(2)] public required string Agent { get; init; }
    [Id(3)] public required string RootPerson { get; init; }
    [Id(4)] public required string Action { get; init; }
    [Id(5)] public required ResourceRef Resource { get; init; }
    [Id(6)] public long PolicyVersion { get; init; }
    [Id(7)] public IReadOnlyList<string> ApprovalPolicies { get; init; } = [];
}

/// <summary>Whether an approval let a request through (and was consumed), or why not.</summary>
[GenerateSerializer, Immutable, Alias("grantsilo.approval-check")]
internal sealed record ApprovalCheck([property: Id(0)] DecisionReason Reason, [property: Id(1)] string Detail)
{
    public bool Consumed => Reason == DecisionReason.Allowed;
}

/// <summary>Whether the hub listed a new approval, or which of its bounds refused it.</summary>
[GenerateSerializer, Alias("grantsilo.approval-admission")]
internal enum ApprovalAdmission
{
    /// <summary>Listed as pending.</summary>
    Admitted = 0,

    /// <summary>The hub lists <see cref="Hosting.GrantSiloOptions.MaxPendingApprovals"/> already.</summary>
    HubFull = 1,

    /// <summary>The approval's agent has <see cref="Hosting.GrantSiloOptions.MaxPendingApprovalsPerAgent"/> pending already.</summary>
    AgentFull = 2,
}

/// <summary>Grain-to-grain operations on approvals.</summary>
[Alias("grantsilo.IApprovalLifecycleGrain")]
internal interface IApprovalLifecycleGrain : IGrainWithStringKey
{
    [Alias("Create")]
    Task<GrantResult<ApprovalInfo>> CreateAsync(ApprovalSpec spec);

    /// <summary>
    /// Uses the approval for exactly this credential, action and resource: allowed only when it is
    /// approved, unexpired and unused, and then durably marked used before this returns.
    /// </summary>
    [Alias("Consume")]
    Task<ApprovalCheck> ConsumeAsync(string credentialId, string action, ResourceRef resource);
}

/// <summary>What approval grains tell the hub.</summary>
[Alias("grantsilo.IApprovalHubNotifyGrain")]
internal interface IApprovalHubNotifyGrain : IGrainWithIntegerKey
{
    /// <summary>
    /// Lists a new approval as pending, before it is recorded: <see cref="ApprovalAdmission.Admitted"/>, or which bound
    /// refused it (then it must not be created).
    /// </summary>
    /// <remarks>Interleaves, so a step-up never waits behind approvers being notified.</remarks>
    [AlwaysInterleave, Alias("AdmitWithinBounds")]
    Task<ApprovalAdmission> AdmitAsync(ApprovalInfo approval);

    /// <summary>Drops an admitted approval whose creation failed.</summary>
    [OneWay, AlwaysInterleave, Alias("Withdraw")]
    Task WithdrawAsync(string approvalId);

    [OneWay, Alias("Requested")]
    Task RequestedAsync(ApprovalInfo approval);

    [OneWay, Alias("Resolved")]
    Task ResolvedAsync(ApprovalInfo approval);
}
