using GrantSilo.Client;

namespace GrantSilo.Testing;

/// <summary>
/// Resource catalogs for tests. A fresh cluster labels every resource as the most restrictive (the shipped catalog
/// is empty), as it should; tests about other things publish <see cref="Permissive"/>, under which every resource is
/// known as public, so the caller's classification and environment stand exactly as the test asserts them.
/// </summary>
public static class TestCatalogs
{
    /// <summary>One entry for every type and path: classification public, no environment, no owner.</summary>
    public const string Permissive = """
        { "entries": [ { "type": "*", "path": "*", "classification": "public" } ] }
        """;

    /// <summary>Publishes <see cref="Permissive"/> (retrying while the cluster settles) and fails the test if it cannot.</summary>
    public static async Task PublishPermissiveAsync(IGrantClient client, TimeSpan? settling = null)
    {
        var published = await Eventually.LastAsync(
            () => client.PublishResourceCatalogAsync(Permissive, "person:test-operator@test.dev"),
            result => result.IsSuccess || result.Error.Code != GrantErrorCode.Unavailable,
            settling ?? TimeSpan.Zero);
        if (!published.IsSuccess)
        {
            throw new InvalidOperationException($"The test catalog could not be published: {published.Error}");
        }
    }
}
