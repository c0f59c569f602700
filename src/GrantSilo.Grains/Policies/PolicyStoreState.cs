namespace GrantSilo.Grains.Policies;

/// <summary>
/// The durable state of the policy store: the records of published versions (not their texts, which
/// each live in their own <see cref="PolicyVersionGrain"/>) and the active version with its text.
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
