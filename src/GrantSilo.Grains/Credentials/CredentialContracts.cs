using GrantSilo.Grains.Leases;
using Orleans.Concurrency;

namespace GrantSilo.Grains.Credentials;

// The credential protocol between grains. Not part of the client surface.

/// <summary>Everything a session hands a new credential.</summary>
[GenerateSerializer, Immutable, Alias("grantsilo.credential-spec")]
internal sealed record CredentialSpec
{
    [Id(0)] public required string TaskId { get; init; }
    [Id(1)] public required string Agent { get; init; }
    [Id(2)] public required string SessionId { get; init; }
    [Id(3)] public required Scope Scope { get; init; }
    [Id(4)] public required DateTimeOffset IssuedAt { get; init; }
    [Id(5)] public required DateTimeOffset ExpiresAt { get; init; }
    [Id(6)] public required byte[] SecretHash { get; init; }
    /// <summary>The token's <c>cnf.jkt</c>, when it is bound to a key.</summary>
    [Id(7)] public string? ConfirmationThumbprint { get; init; }
    /// <summary>The resource the token was issued for (its <c>aud</c>), when one was asked for.</summary>
    [Id(8)] public string? Audience { get; init; }
    /// <summary>
    /// The task's facts as the session read them while attaching to it for this issuance. Taken without asking the
    /// task again only with the issuing session's <see cref="IssuerProof"/>; ignored otherwise.
    /// </summary>
    [Id(9)] public TaskFacts? IssuedUnder { get; init; }
    /// <summary>
    /// The issuing session's keyed word that it issued this credential for this task (<c>ClusterCallKey.IssuedBy</c>):
    /// only a silo can make it, and it names the session, the credential and the task.
    /// </summary>
    [Id(10)] public byte[]? IssuerProof { get; init; }
}

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
}

/// <summary>Grain-to-grain operations on credentials.</summary>
[Alias("grantsilo.ICredentialLifecycleGrain")]
internal interface ICredentialLifecycleGrain : ILeaseHolderGrain
{
    [Alias("Initialize")]
    Task<GrantResult<CredentialInfo>> InitializeAsync(CredentialSpec spec);

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
