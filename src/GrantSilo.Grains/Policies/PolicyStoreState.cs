namespace GrantSilo.Grains.Policies;

/// <summary>
/// The durable state of the policy store: the records of published versions (not their texts, which
/// each live in their own <see cref="PolicyVersionGrain"/>) and the active version with its text; the same for
/// the resource catalog, which the store publishes and distributes the same way.
/// </summary>
[GenerateSerializer, Alias("grantsilo.policy-store-state")]
public sealed class PolicyStoreState
{
    /// <summary>Records of the latest published versions, oldest first (version 0, the shipped default, is not stored).</summary>
    [Id(0)] public List<StoredPolicyVersion> Versions { get; set; } = [];
    /// <summary>The version decisions use; 0 until the first publish.</summary>
    [Id(1)] public long ActiveVersion { get; set; }
    /// <summary>The text of the active version (null while the default is active).</summary>
    [Id(2)] public string? ActiveText { get; set; }
    /// <summary>The highest version number ever published (versions are never reused).</summary>
    [Id(3)] public long LastVersion { get; set; }
    /// <summary>The schema version policies are validated against; 0 (the shipped schema) until the first schema publish.</summary>
    [Id(4)] public long ActiveSchemaVersion { get; set; }
    /// <summary>The records and texts of published schema versions, oldest first (the latest 50).</summary>
    [Id(5)] public List<StoredSchemaVersion> SchemaVersions { get; set; } = [];
    /// <summary>Records of the latest published resource catalog versions, oldest first (version 0, the shipped default, is not stored).</summary>
    [Id(6)] public List<StoredCatalogVersion> CatalogVersions { get; set; } = [];
    /// <summary>The resource catalog version decisions use; 0 until the first catalog publish.</summary>
    [Id(7)] public long ActiveCatalogVersion { get; set; }
    /// <summary>The text of the active catalog version (null while the default is active).</summary>
    [Id(8)] public string? ActiveCatalogText { get; set; }
    /// <summary>The highest catalog version number ever published (never reused).</summary>
    [Id(9)] public long LastCatalogVersion { get; set; }
    /// <summary>Records of the latest published access rules versions, oldest first (version 0, the shipped rules, is not stored).</summary>
    [Id(10)] public List<StoredAccessRulesVersion> AccessRulesVersions { get; set; } = [];
    /// <summary>The access rules version the door uses; 0 until the first publish.</summary>
    [Id(11)] public long ActiveAccessRulesVersion { get; set; }
    /// <summary>The text of the active access rules version (null while version 0 is active).</summary>
    [Id(12)] public string? ActiveAccessRulesText { get; set; }
    /// <summary>The highest access rules version number ever published (never reused).</summary>
    [Id(13)] public long LastAccessRulesVersion { get; set; }
}

/// <summary>The record of one published access rules version (its text lives in its own <see cref="AccessRulesVersionGrain"/>).</summary>
[GenerateSerializer, Alias("grantsilo.stored-access-rules-version")]
public sealed class StoredAccessRulesVersion
{
    [Id(0)] public long Version { get; set; }
    [Id(1)] public string Author { get; set; } = "";
    [Id(2)] public DateTimeOffset PublishedAt { get; set; }
    [Id(3)] public string Sha256 { get; set; } = "";
    [Id(4)] public List<string> RuleIds { get; set; } = [];
}

/// <summary>The durable state of one published access rules version: its record and text, written once.</summary>
[GenerateSerializer, Alias("grantsilo.access-rules-version-state")]
public sealed class AccessRulesVersionState
{
    [Id(0)] public StoredAccessRulesVersion? Record { get; set; }
    [Id(1)] public string Text { get; set; } = "";
}

/// <summary>The record of one published resource catalog version (its text lives in its own <see cref="CatalogVersionGrain"/>).</summary>
[GenerateSerializer, Alias("grantsilo.stored-catalog-version")]
public sealed class StoredCatalogVersion
{
    [Id(0)] public long Version { get; set; }
    [Id(1)] public string Author { get; set; } = "";
    [Id(2)] public DateTimeOffset PublishedAt { get; set; }
    [Id(3)] public string Sha256 { get; set; } = "";
    [Id(4)] public int EntryCount { get; set; }
}

/// <summary>The durable state of one published catalog version: its record and text, written once.</summary>
[GenerateSerializer, Alias("grantsilo.catalog-version-state")]
public sealed class CatalogVersionState
{
    [Id(0)] public StoredCatalogVersion? Record { get; set; }
    [Id(1)] public string Text { get; set; } = "";
}

/// <summary>One published schema version with its text (schemas are small).</summary>
[GenerateSerializer, Alias("grantsilo.stored-schema-version")]
public sealed class StoredSchemaVersion
{
    [Id(0)] public long Version { get; set; }
    [Id(1)] public string Author { get; set; } = "";
    [Id(2)] public DateTimeOffset PublishedAt { get; set; }
    [Id(3)] public string Sha256 { get; set; } = "";
    [Id(4)] public string Text { get; set; } = "";
}

/// <summary>The record of one published version.</summary>
[GenerateSerializer, Alias("grantsilo.stored-policy-version")]
public sealed class StoredPolicyVersion
{
    [Id(0)] public long Version { get; set; }
    [Id(1)] public string Author { get; set; } = "";
    [Id(2)] public DateTimeOffset PublishedAt { get; set; }
    [Id(3)] public string Sha256 { get; set; } = "";
    [Id(4)] public List<string> PolicyIds { get; set; } = [];
    /// <summary>The template-linked policies of this version.</summary>
    [Id(5)] public List<PolicyLink> Links { get; set; } = [];
}

/// <summary>The durable state of one published version: its record and text, written once.</summary>
[GenerateSerializer, Alias("grantsilo.policy-version-state")]
public sealed class PolicyVersionState
{
    [Id(0)] public StoredPolicyVersion? Record { get; set; }
    [Id(1)] public string Text { get; set; } = "";
}
