using GrantSilo.Grains.Access;

namespace GrantSilo.Grains.Policies;

// The access rules (IAccessRulesGrain, key 0): versioned, durable and distributed exactly as the resource catalog is,
// by this store. A publish validates the whole text against the access schema (invalid rules change nothing) and
// refuses rules under which the publishing caller could no longer publish them (no lockout); it then writes the
// version's text to its own grain, records it as active in the store's state (read back after a failed write, never
// rolled back), installs it on this silo and pushes it to every other silo, waiting out any silo that does not
// acknowledge. Every silo's confirmation with the store confirms the rules with the policy, so a silo that cannot
// confirm refuses callers. Version 0 is the rules this silo started with (shipped, or GrantSilo:Access:RulesFile).
internal sealed partial class PolicyStoreGrain
{
    private AccessRulesVersion _activeAccessRules = null!;

    async Task<GrantResult<AccessRulesVersionInfo>> IAccessRulesGrain.PublishAsync(string text, string author, CancellationToken cancellationToken)
    {
        var who = ProvenAuthor(author);
        if (!who.IsSuccess)
        {
            return who.Error;
        }
        if (string.IsNullOrWhiteSpace(text))
        {
            return RejectedRules("The access rules text is empty; an empty set would refuse every caller.", who.Value);
        }
        if (text.Length > _options.MaxPolicyTextLength)
        {
            return RejectedRules($"The access rules text is {text.Length} characters; the limit is {_options.MaxPolicyTextLength} (GrantSilo:Policy:MaxPolicyTextLength).", who.Value);
        }
        AccessRules rules;
        try
        {
            rules = new AccessRules(text);
        }
        catch (Exception exception) when (exception is Cedar.CedarParseException or InvalidOperationException)
        {
            return RejectedRules($"The access rules are not valid: {exception.Message}", who.Value);
        }
        // No lockout: the caller publishing must still be able to publish under the new rules, so a mistake can
        // always be corrected by the one who made it. (A call from inside the cluster has no caller to check.)
        if (CallerContext.Current is { } caller
            && rules.Decide(caller, CallerOperations.AccessPublish, 0, static _ => new TargetFacts { Kind = "", Id = "" }) is { Allowed: false })
        {
            return RejectedRules($"Under the new access rules {caller.Name} could no longer publish the access rules ({CallerOperations.AccessPublish}); publishing them would lock the publisher out. Keep a rule that permits {CallerOperations.AccessPublish} for this caller.", who.Value);
        }

        var version = new StoredAccessRulesVersion
        {
            Version = Math.Max(state.State.LastAccessRulesVersion, state.State.AccessRulesVersions.Count > 0 ? state.State.AccessRulesVersions[^1].Version : 0) + 1,
            Author = who.Value,
            PublishedAt = time.GetUtcNow(),
            Sha256 = rules.Sha256,
            RuleIds = [.. rules.RuleIds],
        };
        try
        {
            // The text first, in its own grain: a version the store records always has its text.
            await GrainFactory.GetGrain<IAccessRulesVersionGrain>(version.Version).WriteAsync(version, text);
        }
        catch (Exception exception)
        {
            LogPublishFailed(logger, exception, version.Version);
            return GrantResult<AccessRulesVersionInfo>.Fail(GrantErrorCode.Unavailable, "GrantSilo could not durably record the new access rules version; the active version is unchanged. Retry the publish.");
        }
        if (state.State.AccessRulesVersions.Count >= MaxVersionRecords)
        {
            state.State.AccessRulesVersions.RemoveAt(0);
        }
        state.State.AccessRulesVersions.Add(version);
        state.State.ActiveAccessRulesVersion = version.Version;
        state.State.ActiveAccessRulesText = text;
        state.State.LastAccessRulesVersion = version.Version;
        if (!await Durable.TryWriteAsync() && (Durable.Unsettled || state.State.ActiveAccessRulesVersion != version.Version))
        {
            LogPublishFailed(logger, null, version.Version);
            return GrantResult<AccessRulesVersionInfo>.Fail(GrantErrorCode.Unavailable, Durable.Unsettled
                ? "GrantSilo could not confirm that the new access rules version was recorded; it may or may not be active. Read the active version, then retry if it is not."
                : "GrantSilo could not durably record the new access rules version; the active version is unchanged. Retry the publish.");
        }

        var published = new AccessRulesVersion { Info = DescribeAccessRules(version, isActive: true), Text = text };
        _activeAccessRules = published;
        LogAccessRulesPublished(logger, version.Version, who.Value, version.RuleIds.Count);
        await AuditPublishedAsync(AuditEventKind.AccessRulesPublished, version.Version, $"Access rules version {version.Version} by {who.Value}: {version.RuleIds.Count} rules.");
        engine.InstallLocalAccessRules(new InstalledAccessRules(published.Info, rules));
        await PropagateAsync("access rules", version.Version, observer => observer.InstallAccessRulesAsync(published), entry => entry.KnownAccessRulesVersion, (entry, v) => entry.KnownAccessRulesVersion = Math.Max(entry.KnownAccessRulesVersion, v));
        return published.Info;
    }

    Task<AccessRulesVersion> IAccessRulesGrain.GetActiveAsync(CancellationToken cancellationToken) => Task.FromResult(_activeAccessRules);

    async Task<GrantResult<AccessRulesVersion>> IAccessRulesGrain.GetVersionAsync(long version, CancellationToken cancellationToken)
    {
        var active = _activeAccessRules;
        if (version == active.Info.Version)
        {
            return active;
        }
        if (version == 0)
        {
            return new AccessRulesVersion { Info = initialRules.Version0(isActive: false), Text = initialRules.Source };
        }
        var stored = version > 0 && version < active.Info.Version ? await GrainFactory.GetGrain<IAccessRulesVersionGrain>(version).ReadAsync() : null;
        if (stored?.Record is null)
        {
            return GrantResult<AccessRulesVersion>.Fail(GrantErrorCode.InvalidArgument, $"There is no access rules version {version}; the active version is {active.Info.Version}.");
        }
        return new AccessRulesVersion { Info = DescribeAccessRules(stored.Record, isActive: false), Text = stored.Text };
    }

    Task<IReadOnlyList<AccessRulesVersionInfo>> IAccessRulesGrain.ListVersionsAsync(CancellationToken cancellationToken)
    {
        var active = _activeAccessRules.Info.Version;
        var list = new List<AccessRulesVersionInfo>(state.State.AccessRulesVersions.Count + 1) { initialRules.Version0(isActive: active == 0) };
        foreach (var version in state.State.AccessRulesVersions)
        {
            // Versions newer than the durable active one are in the middle of being written.
            if (version.Version <= active)
            {
                list.Add(DescribeAccessRules(version, version.Version == active));
            }
        }
        return Task.FromResult<IReadOnlyList<AccessRulesVersionInfo>>(list);
    }

    private AccessRulesVersion DescribeActiveAccessRules()
    {
        var active = state.State.ActiveAccessRulesVersion;
        var stored = active == 0 ? null : state.State.AccessRulesVersions.FirstOrDefault(v => v.Version == active);
        if (stored is null || state.State.ActiveAccessRulesText is null)
        {
            return new AccessRulesVersion { Info = initialRules.Version0(isActive: true), Text = initialRules.Source };
        }
        return new AccessRulesVersion { Info = DescribeAccessRules(stored, isActive: true), Text = state.State.ActiveAccessRulesText };
    }

    private GrantResult<AccessRulesVersionInfo> RejectedRules(string message, string author)
    {
        LogAccessRulesPublishRejected(logger, author, message);
        return new GrantError(GrantErrorCode.PolicyInvalid, message);
    }

    private static AccessRulesVersionInfo DescribeAccessRules(StoredAccessRulesVersion version, bool isActive) => new()
    {
        Version = version.Version,
        Author = version.Author,
        PublishedAt = version.PublishedAt,
        Sha256 = version.Sha256,
        RuleIds = [.. version.RuleIds],
        IsActive = isActive,
    };
}
