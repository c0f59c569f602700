using Orleans.Concurrency;

namespace GrantSilo.GrainInterfaces;

/// <summary>
/// The versioned Cedar policy set (singleton, key 0). Publishing parses the text first: invalid text
/// is refused with a positioned <see cref="GrantErrorCode.PolicyInvalid"/> error and the active
/// version stays. A successful publish is durable and in use by every active silo before it returns.
/// </summary>
[Alias("grantsilo.IPolicyStoreGrain")]
public interface IPolicyStoreGrain : IGrainWithIntegerKey
{
    /// <summary>Parses, stores and activates a new version; returns it once every silo decides with it.</summary>
    [Alias("Publish"), CallerOperation(CallerOperations.PolicyPublish)]
    Task<GrantResult<PolicyVersionInfo>> PublishAsync(string text, string author, CancellationToken cancellationToken = default);

    /// <summary>
    /// Makes every check <see cref="PublishAsync"/> makes (Cedar syntax with positions, the active version's template
    /// links, the active schema, the cost limits) without storing anything: the same refusal a publish would return,
    /// or what the draft holds.
    /// </summary>
    [Alias("Validate"), CallerOperation(CallerOperations.PolicyPublish)]
    Task<GrantResult<PolicyDraftCheck>> ValidateAsync(string text, CancellationToken cancellationToken = default);

    /// <summary>The version decisions use now, with its text.</summary>
    [AlwaysInterleave, Alias("GetActive"), CallerOperation(CallerOperations.PolicyRead)]
    Task<PolicySetVersion> GetActiveAsync(CancellationToken cancellationToken = default);

    /// <summary>One version with its text; <see cref="GrantErrorCode.InvalidArgument"/> when there is no such version.</summary>
    [AlwaysInterleave, Alias("GetVersion"), CallerOperation(CallerOperations.PolicyRead)]
    Task<GrantResult<PolicySetVersion>> GetVersionAsync(long version, CancellationToken cancellationToken = default);

    /// <summary>Every version, oldest first (version 0 is the shipped default; at most the latest 500 published ones).</summary>
    [AlwaysInterleave, Alias("ListVersions"), CallerOperation(CallerOperations.PolicyRead)]
    Task<IReadOnlyList<PolicyVersionInfo>> ListVersionsAsync(CancellationToken cancellationToken = default);

    /// <summary>
    /// Parses and activates a new version of the Cedar schema (the human-readable format). Refused, with
    /// the active schema unchanged, when it does not parse, drops a declaration GrantSilo's decisions rely
    /// on, or would make the active policy set invalid.
    /// </summary>
    [Alias("PublishSchema"), CallerOperation(CallerOperations.PolicyPublish)]
    Task<GrantResult<SchemaVersionInfo>> PublishSchemaAsync(string text, string author, CancellationToken cancellationToken = default);

    /// <summary>
    /// Publishes a new version that adds a template-linked policy to the active one (same text): the
    /// template's slots filled for one person, group, agent or resource. Validated like any publish.
    /// </summary>
    [Alias("LinkTemplate"), CallerOperation(CallerOperations.PolicyPublish)]
    Task<GrantResult<PolicyVersionInfo>> LinkTemplateAsync(PolicyLink link, string author, CancellationToken cancellationToken = default);

    /// <summary>Publishes a new version without the template-linked policy <paramref name="linkId"/>.</summary>
    [Alias("UnlinkTemplate"), CallerOperation(CallerOperations.PolicyPublish)]
    Task<GrantResult<PolicyVersionInfo>> UnlinkTemplateAsync(string linkId, string author, CancellationToken cancellationToken = default);

    /// <summary>The schema policies are validated against now, with its text.</summary>
    [AlwaysInterleave, Alias("GetActiveSchema"), CallerOperation(CallerOperations.PolicyRead)]
    Task<SchemaVersion> GetActiveSchemaAsync(CancellationToken cancellationToken = default);
}
