namespace GrantSilo;

/// <summary>One version of the access rules, without its text.</summary>
[GenerateSerializer, Immutable, Alias("grantsilo.access-rules-version-info")]
public sealed record AccessRulesVersionInfo
{
    /// <summary>
    /// The version number: 0 is the rules shipped with GrantSilo (or the store's silo's
    /// <c>GrantSilo:Access:RulesFile</c>), then 1, 2, ... in publish order.
    /// </summary>
    [Id(0)] public long Version { get; init; }
    /// <summary>Who published it (<c>system</c> for version 0).</summary>
    [Id(1)] public required string Author { get; init; }
    [Id(2)] public DateTimeOffset PublishedAt { get; init; }
    /// <summary>SHA-256 of the rules text (UTF-8), lower-case hex.</summary>
    [Id(3)] public required string Sha256 { get; init; }
    /// <summary>The ids of its rules (<c>@id</c>), in text order.</summary>
    [Id(4)] public IReadOnlyList<string> RuleIds { get; init; } = [];
    /// <summary>True for the version the door uses now.</summary>
    [Id(5)] public bool IsActive { get; init; }
}

/// <summary>A version of the access rules with its Cedar text.</summary>
[GenerateSerializer, Immutable, Alias("grantsilo.access-rules-version")]
public sealed record AccessRulesVersion
{
    [Id(0)] public required AccessRulesVersionInfo Info { get; init; }
    /// <summary>The rules text as published.</summary>
    [Id(1)] public required string Text { get; init; }
}
