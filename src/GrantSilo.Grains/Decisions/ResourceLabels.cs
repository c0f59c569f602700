using GrantSilo.Grains.Catalog;

namespace GrantSilo.Grains.Decisions;

/// <summary>A resource as a decision sees it: labelled by the catalog, and which catalog version and entry did it.</summary>
internal readonly record struct LabelledResource(ResourceRef Resource, long CatalogVersion, ResourceCatalogEntry? Entry, DataClassification Asserted)
{
    /// <summary>True when the catalog has an entry for the resource.</summary>
    public bool Known => Entry is not null;

    /// <summary>Why the resource has the classification it has, for a refusal's detail.</summary>
    public string ClassificationSource =>
        !Known ? $"it is not in the resource catalog (version {CatalogVersion}), so it is treated as the most restrictive"
        : Resource.Classification > Entry!.Classification ? "the request asserts it, above the resource catalog's label"
        : $"resource catalog version {CatalogVersion} labels it so (entry '{Entry}')";

    /// <summary>The sentence a decision on an unknown resource carries, so nobody mistakes the label for a fact.</summary>
    public string UnknownNote =>
        $"'{Resource.Type}:{Resource.Path}' is not in the resource catalog (version {CatalogVersion}), so it was treated as the most restrictive: {ResourceLabels.UnknownClassification.ToString().ToLowerInvariant()}, in {ResourceLabels.UnknownEnvironment}.";
}

/// <summary>
/// Labels a request's resource from the resource catalog, the authority for resource labels (docs/resource-catalog.md):
/// <list type="bullet">
/// <item>classification: the catalog's, and the caller's assertion may only raise it (the higher of the two);</item>
/// <item>environment (<c>resource.environment</c>): the catalog's when its entry has one, else the caller's attribute;</item>
/// <item>owner (<c>resource.owner</c>): the catalog's, never the caller's;</item>
/// <item>a resource the catalog does not know: <see cref="UnknownClassification"/> in <see cref="UnknownEnvironment"/>.</item>
/// </list>
/// Pure: the catalog is the version confirmed on this silo, passed in.
/// </summary>
internal static class ResourceLabels
{
    public const string EnvironmentAttribute = "environment";
    public const string OwnerAttribute = "owner";

    /// <summary>The classification of a resource the catalog does not know: the most restrictive.</summary>
    public const DataClassification UnknownClassification = DataClassification.Restricted;

    /// <summary>The environment of a resource the catalog does not know: the one the strictest rules are written for.</summary>
    public const string UnknownEnvironment = "production";

    /// <summary>Labels a canonical resource (path canonical, attributes validated).</summary>
    public static LabelledResource Apply(ResourceCatalog catalog, ResourceRef resource)
    {
        var entry = catalog.Match(resource.Type, resource.Path);
        var authority = entry?.Classification ?? UnknownClassification;
        var labelled = authority > resource.Classification ? authority : resource.Classification;
        var environment = entry is null ? UnknownEnvironment : entry.Environment;
        var owner = entry?.Owner;

        // The hot path: nothing to change, nothing allocated.
        var attributes = resource.Attributes;
        var callerEnvironment = attributes is not null && attributes.TryGetValue(EnvironmentAttribute, out var e) ? e : null;
        var callerOwner = attributes is not null && attributes.TryGetValue(OwnerAttribute, out var o) ? o : null;
        if (labelled == resource.Classification
            && (environment is null || environment == callerEnvironment)
            && owner == callerOwner)
        {
            return new LabelledResource(resource, catalog.Version, entry, resource.Classification);
        }
        var labels = attributes is null ? new Dictionary<string, string>(StringComparer.Ordinal) : new Dictionary<string, string>(attributes, StringComparer.Ordinal);
        if (environment is not null)
        {
            labels[EnvironmentAttribute] = environment;
        }
        labels.Remove(OwnerAttribute);
        if (owner is not null)
        {
            labels[OwnerAttribute] = owner;
        }
        return new LabelledResource(
            resource with { Classification = labelled, Attributes = labels.Count == 0 ? null : labels },
            catalog.Version,
            entry,
            resource.Classification);
    }
}
