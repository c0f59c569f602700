namespace GrantSilo;

/// <summary>One version of the policy set, without its text.</summary>
[GenerateSerializer, Immutable, Alias("grantsilo.policy-version-info")]
public sealed record PolicyVersionInfo
{
    /// <summary>
    /// The version number: 0 is the default policy set shipped with GrantSilo (active until the first
    /// publish), then 1, 2, ... in publish order.
    /// </summary>
    [Id(0)] public long Version { get; init; }
    /// <summary>Who published it (<c>system</c> for the shipped default).</summary>
    [Id(1)] public required string Author { get; init; }
    [Id(2)] public DateTimeOffset PublishedAt { get; init; }
    /// <summary>SHA-256 of the policy text, lower-case hex.</summary>
    [Id(3)] public required string Sha256 { get; init; }
    /// <summary>The ids of its policies in source order (the <c>@id</c> annotation, else <c>policy0</c>, <c>policy1</c>, ...).</summary>
    [Id(4)] public IReadOnlyList<string> PolicyIds { get; init; } = [];
    /// <summary>True for the version decisions use now.</summary>
    [Id(5)] public bool IsActive { get; init; }
    /// <summary>The template-linked policies of this version: each fills a template's slots for one person, group, agent or resource.</summary>
    [Id(6)] public IReadOnlyList<PolicyLink> Links { get; init; } = [];
}

/// <summary>A draft policy text that passed every check a publish makes; nothing was stored.</summary>
[GenerateSerializer, Immutable, Alias("grantsilo.policy-draft-check")]
public sealed record PolicyDraftCheck
{
    /// <summary>SHA-256 of the draft, lower-case hex (the hash its version would have).</summary>
    [Id(0)] public required string Sha256 { get; init; }
    /// <summary>The ids of its policies in source order, with the active version's template links.</summary>
    [Id(1)] public IReadOnlyList<string> PolicyIds { get; init; } = [];
    /// <summary>The schema version it was validated against (the active one).</summary>
    [Id(2)] public long SchemaVersion { get; init; }
    /// <summary>The policy version active when it was checked (whose template links it keeps).</summary>
    [Id(3)] public long ActiveVersion { get; init; }
}

/// <summary>
/// A template-linked policy: the template (a policy of the set with <c>?principal</c> and/or <c>?resource</c>
/// slots) with its slots filled, under an id of its own. Per-person or per-resource rules are links, not
/// copies of policy text: the rule is written and reviewed once.
/// </summary>
[GenerateSerializer, Immutable, Alias("grantsilo.policy-link")]
public sealed record PolicyLink
{
    /// <summary>The id of the linked policy (it names the policy in decisions), unique in the set.</summary>
    [Id(0)] public required string LinkId { get; init; }
    /// <summary>The <c>@id</c> of the template.</summary>
    [Id(1)] public required string TemplateId { get; init; }
    /// <summary>
    /// The entity for <c>?principal</c>, as <c>Type::"id"</c> parts: a <c>Person</c> (the person a task acts
    /// for: every agent working on that person's tasks is in it), a <c>Group</c> or an <c>Agent</c>.
    /// </summary>
    [Id(2)] public string? PrincipalType { get; init; }
    [Id(3)] public string? PrincipalId { get; init; }
    /// <summary>The resource for <c>?resource</c>, as <c>type:path</c> (the <c>Resource</c> entity id).</summary>
    [Id(4)] public string? ResourceId { get; init; }
}

/// <summary>A version of the policy set with its Cedar text.</summary>
[GenerateSerializer, Immutable, Alias("grantsilo.policy-set-version")]
public sealed record PolicySetVersion
{
    [Id(0)] public required PolicyVersionInfo Info { get; init; }
    /// <summary>The Cedar policy text.</summary>
    [Id(1)] public required string Text { get; init; }
}

/// <summary>The record of one version of the Cedar schema policies are validated against.</summary>
[GenerateSerializer, Immutable, Alias("grantsilo.schema-version-info")]
public sealed record SchemaVersionInfo
{
    /// <summary>0 is the schema shipped with GrantSilo (active until the first schema publish), then 1, 2, ...</summary>
    [Id(0)] public long Version { get; init; }
    /// <summary>Who published it (<c>system</c> for the shipped schema).</summary>
    [Id(1)] public required string Author { get; init; }
    [Id(2)] public DateTimeOffset PublishedAt { get; init; }
    /// <summary>SHA-256 of the schema text, lower-case hex.</summary>
    [Id(3)] public required string Sha256 { get; init; }
    /// <summary>True for the version policies are validated against now.</summary>
    [Id(4)] public bool IsActive { get; init; }
}

/// <summary>A version of the Cedar schema with its text (Cedar's human-readable schema format).</summary>
[GenerateSerializer, Immutable, Alias("grantsilo.schema-version")]
public sealed record SchemaVersion
{
    [Id(0)] public required SchemaVersionInfo Info { get; init; }
    /// <summary>The schema text.</summary>
    [Id(1)] public required string Text { get; init; }
}
