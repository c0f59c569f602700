using System.Text;

namespace GrantSilo.Grains.Catalog;

/// <summary>
/// The catalog GrantSilo ships (<c>Catalog/default-catalog.json</c>, embedded): version 0, active on every silo
/// until the first publish, without being written anywhere. It is empty: every resource is unknown, so labelled
/// as the most restrictive, until an operator publishes what the resources are.
/// </summary>
public static class DefaultResourceCatalog
{
    private static readonly Lazy<string> LazyText = new(Load);
    private static readonly Lazy<ResourceCatalog> LazyCatalog = new(() => ResourceCatalog.Compile(Info(isActive: true), Text));

    /// <summary>The JSON text of the default catalog.</summary>
    public static string Text => LazyText.Value;

    /// <summary>Version 0's record.</summary>
    public static ResourceCatalogVersionInfo Info(bool isActive) => new()
    {
        Version = 0,
        Author = "system",
        PublishedAt = DateTimeOffset.UnixEpoch,
        Sha256 = ResourceCatalog.Sha256(Text),
        EntryCount = 0,
        IsActive = isActive,
    };

    internal static ResourceCatalog Catalog => LazyCatalog.Value;

    private static string Load()
    {
        using var stream = typeof(DefaultResourceCatalog).Assembly.GetManifestResourceStream("GrantSilo.Grains.Catalog.default-catalog.json")
            ?? throw new InvalidOperationException("The default resource catalog is missing from GrantSilo.Grains (embedded resource GrantSilo.Grains.Catalog.default-catalog.json).");
        using var reader = new StreamReader(stream, Encoding.UTF8);
        return reader.ReadToEnd();
    }
}
