using GrantSilo.Grains.Catalog;

namespace GrantSilo.Grains.Policies;

// The resource catalog (IResourceCatalogGrain, key 0): versioned, durable and distributed exactly as policy versions
// are, by this store. A publish validates the whole text (a bad catalog changes nothing), writes the version's text to
// its own grain, records it as active in the store's state (read back after a failed write, never rolled back),
// installs it on this silo and pushes it to every other silo, waiting out any silo that does not acknowledge. Every
// silo's confirmation with the store confirms the catalog with the policy, so a silo that cannot confirm denies.
// The interface's methods share names with IPolicyStoreGrain's, so they are implemented explicitly.
internal sealed partial class PolicyStoreGrain
{
    private ResourceCatalogVersion _activeCatalog = null!;

    async Task<GrantResult<ResourceCatalogVersionInfo>> IResourceCatalogGrain.PublishAsync(string text, string author, CancellationToken cancellationToken)
    {
        var who = ProvenAuthor(author);
        if (!who.IsSuccess)
        {
            return who.Error;
        }
        var entries = ResourceCatalogParser.Parse(text);
        if (!entries.IsSuccess)
        {
            LogCatalogPublishRejected(logger, who.Value, entries.Error.DetailCode, entries.Error.Target);
            return entries.Error;
        }

        var version = new StoredCatalogVersion
        {
            Version = Math.Max(state.State.LastCatalogVersion, state.State.CatalogVersions.Count > 0 ? state.State.CatalogVersions[^1].Version : 0) + 1,
            Author = who.Value,
            PublishedAt = time.GetUtcNow(),
            Sha256 = ResourceCatalog.Sha256(text),
            EntryCount = entries.Value.Count,
        };
        try
        {
            // The text first, in its own grain: a version the store records always has its text.
            await GrainFactory.GetGrain<ICatalogVersionGrain>(version.Version).WriteAsync(version, text);
        }
        catch (Exception exception)
        {
            LogPublishFailed(logger, exception, version.Version);
            return GrantResult<ResourceCatalogVersionInfo>.Fail(GrantErrorCode.Unavailable, "GrantSilo could not durably record the new resource catalog version; the active version is unchanged. Retry the publish.");
        }
        if (state.State.CatalogVersions.Count >= MaxVersionRecords)
        {
            state.State.CatalogVersions.RemoveAt(0);
        }
        state.State.CatalogVersions.Add(version);
        state.State.ActiveCatalogVersion = version.Version;
        state.State.ActiveCatalogText = text;
        state.State.LastCatalogVersion = version.Version;
        if (!await Durable.TryWriteAsync() && (Durable.Unsettled || state.State.ActiveCatalogVersion != version.Version))
        {
            LogPublishFailed(logger, null, version.Version);
            return GrantResult<ResourceCatalogVersionInfo>.Fail(GrantErrorCode.Unavailable, Durable.Unsettled
                ? "GrantSilo could not confirm that the new resource catalog version was recorded; it may or may not be active. Read the active version, then retry if it is not."
                : "GrantSilo could not durably record the new resource catalog version; the active version is unchanged. Retry the publish.");
        }

        var published = new ResourceCatalogVersion { Info = DescribeCatalog(version, isActive: true), Text = text };
        _activeCatalog = published;
        LogCatalogPublished(logger, version.Version, who.Value, version.EntryCount);
        await AuditPublishedAsync(AuditEventKind.CatalogPublished, version.Version, $"Resource catalog version {version.Version} by {who.Value}: {version.EntryCount} entries.");
        engine.InstallLocalCatalog(new ResourceCatalog(published.Info, entries.Value));
        await PropagateAsync("resource catalog", version.Version, observer => observer.InstallCatalogAsync(published), entry => entry.KnownCatalogVersion, (entry, v) => entry.KnownCatalogVersion = Math.Max(entry.KnownCatalogVersion, v));
        return published.Info;
    }

    Task<ResourceCatalogVersion> IResourceCatalogGrain.GetActiveAsync(CancellationToken cancellationToken) => Task.FromResult(_activeCatalog);

    async Task<GrantResult<ResourceCatalogVersion>> IResourceCatalogGrain.GetVersionAsync(long version, CancellationToken cancellationToken)
    {
        var active = _activeCatalog;
        if (version == active.Info.Version)
        {
            return active;
        }
        if (version == 0)
        {
            return new ResourceCatalogVersion { Info = DefaultResourceCatalog.Info(isActive: false), Text = DefaultResourceCatalog.Text };
        }
        var stored = version > 0 && version < active.Info.Version ? await GrainFactory.GetGrain<ICatalogVersionGrain>(version).ReadAsync() : null;
        if (stored?.Record is null)
        {
            return GrantResult<ResourceCatalogVersion>.Fail(GrantErrorCode.InvalidArgument, $"There is no resource catalog version {version}; the active version is {active.Info.Version}.");
        }
        return new ResourceCatalogVersion { Info = DescribeCatalog(stored.Record, isActive: false), Text = stored.Text };
    }

    Task<IReadOnlyList<ResourceCatalogVersionInfo>> IResourceCatalogGrain.ListVersionsAsync(CancellationToken cancellationToken)
    {
        var active = _activeCatalog.Info.Version;
        var list = new List<ResourceCatalogVersionInfo>(state.State.CatalogVersions.Count + 1) { DefaultResourceCatalog.Info(isActive: active == 0) };
        foreach (var version in state.State.CatalogVersions)
        {
            // Versions newer than the durable active one are in the middle of being written.
            if (version.Version <= active)
            {
                list.Add(DescribeCatalog(version, version.Version == active));
            }
        }
        return Task.FromResult<IReadOnlyList<ResourceCatalogVersionInfo>>(list);
    }

    private ResourceCatalogVersion DescribeActiveCatalog()
    {
        var active = state.State.ActiveCatalogVersion;
        var stored = active == 0 ? null : state.State.CatalogVersions.FirstOrDefault(v => v.Version == active);
        if (stored is null || state.State.ActiveCatalogText is null)
        {
            return new ResourceCatalogVersion { Info = DefaultResourceCatalog.Info(isActive: true), Text = DefaultResourceCatalog.Text };
        }
        return new ResourceCatalogVersion { Info = DescribeCatalog(stored, isActive: true), Text = state.State.ActiveCatalogText };
    }

    private static ResourceCatalogVersionInfo DescribeCatalog(StoredCatalogVersion version, bool isActive) => new()
    {
        Version = version.Version,
        Author = version.Author,
        PublishedAt = version.PublishedAt,
        Sha256 = version.Sha256,
        EntryCount = version.EntryCount,
        IsActive = isActive,
    };
}
