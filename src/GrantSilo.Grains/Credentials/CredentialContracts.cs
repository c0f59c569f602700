using GrantSilo.Grains.Leases;
using Orleans.Concurrency;

namespace GrantSilo.Grains.Credentials;

// The credential protocol between grains. Not part of the client surface.

/// <summary>
/// The facts a proof credential vouches for, and what it holds: a delegation proved with it hands on at
/// most <see cref="Scope"/> (with one hop less of delegation depth). Null from a silo of an earlier
/// version, which the delegating task treats as holding nothing.
/// </summary>
[GenerateSerializer, Immutable, Alias("grantsilo.proof")]
internal sealed record ProofCheck
{
    [Id(0)] public bool Valid { get; init; }
    [Id(1)] public string? Detail { get; init; }
    [Id(2)] public string? TaskId { get; init; }
    [Id(3)] public string? Agent { get; init; }
    /// <summary>The proof credential's scope.</summary>
    [Id(4)] public Scope? Scope { get; init; }
    /// <summary>When the proof credential expires (the child is bounded by its parent task, not by this).</summary>
    [Id(5)] public DateTimeOffset? ExpiresAt { get; init; }
    /// <summary>
    /// The only agent a delegation proved with this credential may hand the task to (the token's <c>may_act.sub</c>);
    /// null when the credential names none (or was issued, or checked, by an earlier version).
    /// </summary>
    [Id(6)] public string? MayAct { get; init; }
}

/// <summary>Grain-to-grain operations on credentials.</summary>
[Alias("grantsilo.ICredentialLifecycleGrain")]
internal interface ICredentialLifecycleGrain : ILeaseHolderGrain
{
    /// <summary>Checks a delegation proof: the secret matches and the credential is live.</summary>
    [AlwaysInterleave, Alias("VerifyProof")]
    Task<ProofCheck> VerifyProofAsync([Immutable] byte[] secret);

    /// <summary>
    /// As <see cref="VerifyProofAsync"/>, for a proof token presented as <paramref name="presentation"/> says: a proof
    /// credential bound to a key is valid only with a DPoP proof by that key.
    /// </summary>
    [AlwaysInterleave, Alias("VerifyProofPresented")]
    Task<ProofCheck> VerifyProofPresentedAsync([Immutable] byte[] secret, TokenPresentation presentation);

    /// <summary>Marks the credential expired if its time has passed (its session's reminder calls this). Idempotent.</summary>
    [Alias("EnactExpiry")]
    Task EnactExpiryAsync();

    /// <summary>
    /// Ends the credential because its task or session ended (without saying which: kept for silos of
    /// an earlier version). Idempotent; a no-op for an unknown id.
    /// </summary>
    [Alias("EndFromAbove")]
    Task EndFromAboveAsync(string reason);

    /// <summary>
    /// Ends the credential because its task or session ended; decisions then deny with
    /// <paramref name="cause"/> (<see cref="DecisionReason.TaskCompleted"/>, <see cref="DecisionReason.TaskRevoked"/>,
    /// <see cref="DecisionReason.TaskExpired"/> or <see cref="DecisionReason.SessionNotActive"/>). Idempotent;
    /// a no-op for an unknown id.
    /// </summary>
    [Alias("EndBecause")]
    Task EndBecauseAsync(DecisionReason cause, string reason);
}
