namespace GrantSilo;

/// <summary>One version of the resource catalog, without its text.</summary>
[GenerateSerializer, Immutable, Alias("grantsilo.resource-catalog-version-info")]
public sealed record ResourceCatalogVersionInfo
{
    /// <summary>
    /// The version number: 0 is the catalog shipped with GrantSilo (empty: every resource is unknown, so treated
    /// as the most restrictive), then 1, 2, ... in publish order.
    /// </summary>
    [Id(0)] public long Version { get; init; }
    /// <summary>Who published it (<c>system</c> for the shipped default).</summary>
    [Id(1)] public required string Author { get; init; }
    [Id(2)] public DateTimeOffset PublishedAt { get; init; }
    /// <summary>SHA-256 of the catalog text (UTF-8), lower-case hex.</summary>
    [Id(3)] public required string Sha256 { get; init; }
    /// <summary>How many entries it has.</summary>
    [Id(4)] public int EntryCount { get; init; }
    /// <summary>True for the version decisions use now.</summary>
    [Id(5)] public bool IsActive { get; init; }
}

/// <summary>A version of the resource catalog with its JSON text (docs/resource-catalog.md).</summary>
[GenerateSerializer, Immutable, Alias("grantsilo.resource-catalog-version")]
public sealed record ResourceCatalogVersion
{
    [Id(0)] public required ResourceCatalogVersionInfo Info { get; init; }
    /// <summary>The catalog text as published.</summary>
    [Id(1)] public required string Text { get; init; }
}

/// <summary>
/// What is wrong with a catalog refused at publish, as <see cref="GrantError.DetailCode"/> of an
/// <see cref="GrantErrorCode.InvalidArgument"/> error (whose <see cref="GrantError.Target"/> names the entry,
/// <c>entries[3]</c>, when the problem is in one).
/// </summary>
public enum ResourceCatalogProblem
{
    /// <summary>The text is not JSON (the error's position says where).</summary>
    NotJson = 1,
    /// <summary>The document or an entry has the wrong shape: not an object, <c>entries</c> not an array, a field of the wrong JSON type.</summary>
    WrongShape = 2,
    /// <summary>A field GrantSilo does not know (a misspelling would otherwise be silently ignored).</summary>
    UnknownField = 3,
    /// <summary>A required field (<c>entries</c>, <c>type</c>, <c>path</c>, <c>classification</c>) is missing.</summary>
    MissingField = 4,
    /// <summary>The resource type is not a permission name (or <c>*</c>).</summary>
    InvalidType = 5,
    /// <summary>The path is not a resource pattern (docs/resource-paths.md).</summary>
    InvalidPattern = 6,
    /// <summary>The classification is not <c>public</c>, <c>internal</c>, <c>confidential</c> or <c>restricted</c>.</summary>
    InvalidClassification = 7,
    /// <summary>The environment is empty, too long or not canonical text.</summary>
    InvalidEnvironment = 8,
    /// <summary>The owner is not a canonical identifier.</summary>
    InvalidOwner = 9,
    /// <summary>Two entries have the same type and path pattern.</summary>
    DuplicatePattern = 10,
    /// <summary>The text or the number of entries exceeds the limits.</summary>
    TooLarge = 11,
}
