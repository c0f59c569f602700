using System.Security.Cryptography;
using System.Text;

namespace GrantSilo.Grains.Catalog;

/// <summary>One entry of the catalog: the labels of every resource of <see cref="Type"/> whose path <see cref="Path"/> matches.</summary>
internal sealed record ResourceCatalogEntry(
    int Index,
    string Type,
    ResourcePattern Path,
    DataClassification Classification,
    string? Environment,
    string? Owner)
{
    /// <summary>How the entry is named in messages and decisions: <c>repo acme/payments/*</c>.</summary>
    public override string ToString() => $"{Type} {Path.Text}";
}

/// <summary>
/// A parsed, validated catalog version, ready to label resources. Matching (docs/resource-catalog.md): an entry
/// for the resource's own type beats one for every type (<c>*</c>); among entries of one type, an exact path beats
/// every wildcard, and of two wildcards the one with the longer literal prefix wins (<c>acme/payments/*</c> over
/// <c>acme/*</c> over <c>*</c>). Duplicate (type, path) pairs are refused at publish, so exactly one entry wins.
/// A lookup costs one dictionary probe per path segment, whatever the catalog's size.
/// </summary>
internal sealed class ResourceCatalog
{
    /// <summary>The resource type of an entry that applies to every type.</summary>
    public const string AnyType = "*";

    private readonly Dictionary<(string Type, string Path), ResourceCatalogEntry> _exact = [];
    private readonly Dictionary<(string Type, string Prefix), ResourceCatalogEntry> _wildcards = [];

    public ResourceCatalog(ResourceCatalogVersionInfo info, IReadOnlyList<ResourceCatalogEntry> entries)
    {
        Info = info;
        Entries = entries;
        foreach (var entry in entries)
        {
            if (entry.Path.IsWildcard)
            {
                _wildcards[(entry.Type, entry.Path.Prefix)] = entry;
            }
            else
            {
                _exact[(entry.Type, entry.Path.Prefix)] = entry;
            }
        }
    }

    public ResourceCatalogVersionInfo Info { get; }

    public long Version => Info.Version;

    public IReadOnlyList<ResourceCatalogEntry> Entries { get; }

    /// <summary>The most specific entry for a canonical resource path, or null when the catalog does not know it.</summary>
    public ResourceCatalogEntry? Match(string type, string path) =>
        MatchType(type, path) ?? MatchType(AnyType, path);

    private ResourceCatalogEntry? MatchType(string type, string path)
    {
        if (_exact.TryGetValue((type, path), out var exact))
        {
            return exact;
        }
        if (_wildcards.Count == 0)
        {
            return null;
        }
        // 'prefix/*' matches paths strictly below 'prefix': try each proper prefix, longest first, then '*'.
        for (var end = path.LastIndexOf('/'); end > 0; end = path.LastIndexOf('/', end - 1))
        {
            if (_wildcards.TryGetValue((type, path[..end]), out var wildcard))
            {
                return wildcard;
            }
        }
        return _wildcards.TryGetValue((type, string.Empty), out var all) ? all : null;
    }

    /// <summary>A published version's text, parsed (it was validated when it was published).</summary>
    public static ResourceCatalog Compile(ResourceCatalogVersionInfo info, string text)
    {
        var entries = ResourceCatalogParser.Parse(text);
        if (!entries.IsSuccess)
        {
            throw new InvalidOperationException($"Resource catalog version {info.Version} does not parse: {entries.Error.Message}");
        }
        return new ResourceCatalog(info, entries.Value);
    }

    /// <summary>SHA-256 of a catalog text (UTF-8), lower-case hex.</summary>
    public static string Sha256(string text) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)));
}
