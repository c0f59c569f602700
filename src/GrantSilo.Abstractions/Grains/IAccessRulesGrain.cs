using Orleans.Concurrency;

namespace GrantSilo.GrainInterfaces;

/// <summary>
/// The versioned access rules (singleton, key 0): who may call GrantSilo, and for what — a Cedar policy set over
/// the access schema (principal <c>Access::Caller</c>, action <c>Access::Action::"&lt;operation&gt;"</c>, resource
/// <c>Access::Target</c>; docs/identity.md). Version 0 is the shipped rules (or the store's silo's
/// <c>GrantSilo:Access:RulesFile</c>). Publishing validates the whole text against the access schema first: an
/// invalid text is refused with <see cref="GrantErrorCode.PolicyInvalid"/> naming the error, and so is a text under
/// which the publishing caller could no longer publish the rules (an operator cannot lock operators out); the
/// active version then stays. A successful publish is durable and in use by every active silo's door before it
/// returns. Publishing is an operator's act.
/// </summary>
[Alias("grantsilo.IAccessRulesGrain")]
public interface IAccessRulesGrain : IGrainWithIntegerKey
{
    /// <summary>Validates, stores and activates a new version; returns it once every silo decides callers with it.</summary>
    [Alias("Publish"), CallerOperation(CallerOperations.AccessPublish)]
    Task<GrantResult<AccessRulesVersionInfo>> PublishAsync(string text, string author, CancellationToken cancellationToken = default);

    /// <summary>The version the door uses now, with its text.</summary>
    [AlwaysInterleave, Alias("GetActive"), CallerOperation(CallerOperations.AccessRead)]
    Task<AccessRulesVersion> GetActiveAsync(CancellationToken cancellationToken = default);

    /// <summary>One version with its text; <see cref="GrantErrorCode.InvalidArgument"/> when there is no such version.</summary>
    [AlwaysInterleave, Alias("GetVersion"), CallerOperation(CallerOperations.AccessRead)]
    Task<GrantResult<AccessRulesVersion>> GetVersionAsync(long version, CancellationToken cancellationToken = default);

    /// <summary>Every version, oldest first (version 0 is the shipped rules; at most the latest 500 published ones).</summary>
    [AlwaysInterleave, Alias("ListVersions"), CallerOperation(CallerOperations.AccessRead)]
    Task<IReadOnlyList<AccessRulesVersionInfo>> ListVersionsAsync(CancellationToken cancellationToken = default);
}
