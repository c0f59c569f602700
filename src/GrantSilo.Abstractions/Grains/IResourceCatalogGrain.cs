using Orleans.Concurrency;

namespace GrantSilo.GrainInterfaces;

/// <summary>
/// The versioned resource catalog (singleton, key 0): the authority for resource labels. Each entry maps a
/// resource type and path pattern to a classification, and optionally an environment and an owner; decisions
/// label every resource from the active version (docs/resource-catalog.md). Publishing validates the whole
/// text first: a bad catalog is refused with <see cref="GrantErrorCode.InvalidArgument"/> naming the entry and
/// the problem (<see cref="ResourceCatalogProblem"/>), and the active version stays. A successful publish is
/// durable and in use by every active silo before it returns. Publishing is an operator's act.
/// </summary>
[Alias("grantsilo.IResourceCatalogGrain")]
public interface IResourceCatalogGrain : IGrainWithIntegerKey
{
    /// <summary>Validates, stores and activates a new version; returns it once every silo labels resources with it.</summary>
    [Alias("Publish"), CallerOperation(CallerOperations.CatalogPublish)]
    Task<GrantResult<ResourceCatalogVersionInfo>> PublishAsync(string text, string author, CancellationToken cancellationToken = default);

    /// <summary>The version decisions use now, with its text.</summary>
    [AlwaysInterleave, Alias("GetActive"), CallerOperation(CallerOperations.CatalogRead)]
    Task<ResourceCatalogVersion> GetActiveAsync(CancellationToken cancellationToken = default);

    /// <summary>One version with its text; <see cref="GrantErrorCode.InvalidArgument"/> when there is no such version.</summary>
    [AlwaysInterleave, Alias("GetVersion"), CallerOperation(CallerOperations.CatalogRead)]
    Task<GrantResult<ResourceCatalogVersion>> GetVersionAsync(long version, CancellationToken cancellationToken = default);

    /// <summary>Every version, oldest first (version 0 is the shipped default; at most the latest 500 published ones).</summary>
    [AlwaysInterleave, Alias("ListVersions"), CallerOperation(CallerOperations.CatalogRead)]
    Task<IReadOnlyList<ResourceCatalogVersionInfo>> ListVersionsAsync(CancellationToken cancellationToken = default);
}
