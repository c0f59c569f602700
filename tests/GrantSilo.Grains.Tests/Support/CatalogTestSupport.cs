using GrantSilo.Grains.Catalog;
using GrantSilo.Testing;

namespace GrantSilo.Grains.Tests;

/// <summary>Resource catalogs compiled for the tests of the pure decision parts (no cluster).</summary>
internal static class CatalogTestSupport
{
    /// <summary><see cref="TestCatalogs.Permissive"/>, compiled as version 1.</summary>
    public static ResourceCatalog Permissive { get; } = Compile(TestCatalogs.Permissive);

    /// <summary>The shipped, empty catalog (version 0).</summary>
    public static ResourceCatalog Default => DefaultResourceCatalog.Catalog;

    public static ResourceCatalog Compile(string text, long version = 1) =>
        ResourceCatalog.Compile(new ResourceCatalogVersionInfo { Version = version, Author = "test", Sha256 = ResourceCatalog.Sha256(text), IsActive = true }, text);
}
