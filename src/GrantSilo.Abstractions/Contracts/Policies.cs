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
