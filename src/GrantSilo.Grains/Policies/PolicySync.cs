using Orleans.Concurrency;

namespace GrantSilo.Grains.Policies;

/// <summary>A silo confirming its policy version with the store (and registering where to push new ones).</summary>
[GenerateSerializer, Immutable, Alias("grantsilo.policy-sync-request")]
internal sealed record PolicySyncRequest
{
    [Id(0)] public required SiloAddress Silo { get; init; }
    /// <summary>Where the store pushes new versions to this silo; null when the silo could not create one.</summary>
    [Id(1)] public IPolicySiloObserver? Observer { get; init; }
    /// <summary>The version the silo holds, if any.</summary>
    [Id(2)] public long? KnownVersion { get; init; }
    /// <summary>The SHA-256 of the text the silo holds, if any.</summary>
    [Id(3)] public string? KnownSha256 { get; init; }
    /// <summary>The resource catalog version the silo holds, if any.</summary>
    [Id(4)] public long? KnownCatalogVersion { get; init; }
    /// <summary>The SHA-256 of the catalog text the silo holds, if any.</summary>
    [Id(5)] public string? KnownCatalogSha256 { get; init; }
    /// <summary>The access rules version the silo holds, if any.</summary>
    [Id(6)] public long? KnownAccessRulesVersion { get; init; }
    /// <summary>The SHA-256 of the access rules text the silo holds, if any.</summary>
    [Id(7)] public string? KnownAccessRulesSha256 { get; init; }
}

/// <summary>The active policy, resource catalog and access rules versions; each text only when the silo does not hold it yet.</summary>
[GenerateSerializer, Immutable, Alias("grantsilo.policy-sync-response")]
internal sealed record PolicySyncResponse
{
    [Id(0)] public required PolicyVersionInfo Active { get; init; }
    [Id(1)] public string? Text { get; init; }
    /// <summary>The active resource catalog version (the catalog rides the policy's sync: one confirmation covers both).</summary>
    [Id(2)] public ResourceCatalogVersionInfo? Catalog { get; init; }
    [Id(3)] public string? CatalogText { get; init; }
    /// <summary>The active access rules version (riding the same confirmation).</summary>
    [Id(4)] public AccessRulesVersionInfo? AccessRules { get; init; }
    [Id(5)] public string? AccessRulesText { get; init; }
}

/// <summary>Each silo's policy engine, pushed a new policy or resource catalog version by the store when it is published.</summary>
[Alias("grantsilo.IPolicySiloObserver")]
internal interface IPolicySiloObserver : IGrainObserver
{
    /// <summary>Compiles and installs the version; returns once this silo decides with it.</summary>
    [Alias("Install")]
    Task InstallAsync(PolicySetVersion version);

    /// <summary>Parses and installs the resource catalog version; returns once this silo labels resources with it.</summary>
    [Alias("InstallCatalog")]
    Task InstallCatalogAsync(ResourceCatalogVersion version);

    /// <summary>Validates and installs the access rules version; returns once this silo's door decides with it.</summary>
    [Alias("InstallAccessRules")]
    Task InstallAccessRulesAsync(AccessRulesVersion version);
}

/// <summary>The store's silo-facing side (for policies and the resource catalog alike).</summary>
[Alias("grantsilo.IPolicyStoreSyncGrain")]
internal interface IPolicyStoreSyncGrain : IGrainWithIntegerKey
{
    /// <summary>Confirms the active version to a silo. Interleaves, so a publish waiting for silos never blocks them.</summary>
    [AlwaysInterleave, Alias("Sync")]
    Task<PolicySyncResponse> SyncAsync(PolicySyncRequest request);
}
