using GrantSilo.GrainInterfaces;

namespace GrantSilo.Benchmarks;

/// <summary>The baseline: a grain call that does nothing.</summary>
[Alias("grantsilo.bench.INoopGrain")]
public interface INoopGrain : IGrainWithStringKey
{
    // Through GrantSilo's door like every outside call (a target-independent operation the harness may call).
    [Alias("Ping"), CallerOperation(CallerOperations.CascadeRead)]
    Task<int> PingAsync(int value);
}

public sealed class NoopGrain : Grain, INoopGrain
{
    public Task<int> PingAsync(int value) => Task.FromResult(value);
}

/// <summary>
/// A grain call with exactly Authorize's arguments and reply, and no work: separates what the call
/// costs from what the decision costs.
/// </summary>
[Alias("grantsilo.bench.IEchoDecisionGrain")]
public interface IEchoDecisionGrain : IGrainWithStringKey
{
    [Alias("Authorize"), CallerOperation(CallerOperations.CredentialAuthorize)]
    Task<Decision> AuthorizeAsync([Immutable] byte[] secret, string action, ResourceRef resource);
}

public sealed class EchoDecisionGrain : Grain, IEchoDecisionGrain
{
    private readonly Decision _reply;

    public EchoDecisionGrain() => _reply = new Decision
    {
        Kind = DecisionKind.Allow,
        Reason = DecisionReason.Allowed,
        CredentialId = "qpKg6iny0aZC2tDIdrTTJg",
        TaskId = "t-d8f69003a35448d09b8c1d968b6b9f1b",
        Agent = "spiffe://bench.dev/abcdef/planner",
        PolicyVersion = 0,
        DeterminingPolicies = ["default-read"],
    };

    public Task<Decision> AuthorizeAsync(byte[] secret, string action, ResourceRef resource) =>
        Task.FromResult(_reply with { DecidedAt = DateTimeOffset.UtcNow });
}
