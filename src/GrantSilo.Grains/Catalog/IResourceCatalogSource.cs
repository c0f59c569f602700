namespace GrantSilo.Grains.Catalog;

/// <summary>
/// Where a decision gets the resource catalog: the active version, confirmed with the store within the policy's
/// confirmation lease (<see cref="Policies.PolicyEngineHost"/>); null when it cannot be confirmed, and the decision
/// then denies (fail closed).
/// </summary>
internal interface IResourceCatalogSource
{
    ValueTask<ResourceCatalog?> GetConfirmedCatalogAsync();
}
