using GrantSilo.Grains.Access;
using GrantSilo.Grains.Hosting;
using GrantSilo.Cedar;
using Microsoft.Extensions.DependencyInjection;
using GrantSilo.Grains.Audit;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace GrantSilo.Grains.Policies;

/// <summary>
/// The versioned policy set (key 0). A publish parses the text (refusing invalid text with a
/// positioned error, the active version unchanged), writes the new version durably, then makes sure
/// every active silo decides with it before returning: the store's own silo installs it directly,
/// every other silo is pushed the version through its engine's observer and acknowledges once it is
/// installed; a silo that does not acknowledge is waited out until its confirmation lease has lapsed
/// (after which it cannot decide without asking the store, which answers with the new version).
/// The store also holds the resource catalog (<see cref="IResourceCatalogGrain"/>, <c>PolicyStoreGrain.Catalog.cs</c>),
/// published, made durable and pushed to every silo by the same mechanism, and the access rules
/// (<see cref="IAccessRulesGrain"/>, <c>PolicyStoreGrain.AccessRules.cs</c>) likewise.
/// </summary>
internal sealed partial class PolicyStoreGrain(
    [PersistentState("policies", GrantSiloStorage.Name)] IPersistentState<PolicyStoreState> state,
    [FromKeyedServices(GrantSiloTime.ServiceKey)] TimeProvider time,
    PolicyEngineHost engine,
    AccessRules initialRules,
    ILocalSiloDetails localSilo,
    IOptions<GrantSiloPolicyOptions> options,
    IAuditTrail audit,
    ILogger<PolicyStoreGrain> logger)
    : Grain, IPolicyStoreGrain, IPolicyStoreSyncGrain, IResourceCatalogGrain, IAccessRulesGrain
{
    // Silo clocks may run at slightly different rates; wait a little past a lapsed lease.
    private static readonly TimeSpan LeaseMargin = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan WaitPoll = TimeSpan.FromMilliseconds(100);

    // The store keeps the records of this many latest versions; every version's text lives in its own grain.
    private const int MaxVersionRecords = 500;

    // Schema versions kept in the store's own state (each with its text; schemas are small).
    private const int MaxSchemaVersions = 50;

    private readonly GrantSiloPolicyOptions _options = options.Value;
    private readonly LifecycleAudit _audited = new(audit, time, localSilo.Name, logger, "policy store");

    // A publish on the audit log: the version, its author (the authenticated caller) and what it holds.
    private Task AuditPublishedAsync(AuditEventKind kind, long version, string detail) =>
        _audited.RecordAsync(kind, r => r with { Subject = version.ToString(System.Globalization.CultureInfo.InvariantCulture), PolicyVersion = kind == AuditEventKind.PolicyPublished ? version : null, Detail = detail });
    private readonly TimeProvider _clock = TimeProvider.System;
    private readonly Dictionary<SiloAddress, SiloEntry> _silos = [];
    private DurableState<PolicyStoreState>? _durable;

    // Writes one at a time, read back after a failure (see DurableState): the store's answers say what storage holds.
    private DurableState<PolicyStoreState> Durable => _durable ??= new(state, logger, "policy store", static () => "0", DeactivateOnIdle);
    private long _activatedAt;
    // What other silos are told: only versions already durable.
    private PolicySetVersion _active = null!;

    // The schema every publish is validated against (durable), parsed once.
    private SchemaVersion _activeSchema = null!;
    private PolicyValidator _validator = null!;

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        _activatedAt = _clock.GetTimestamp();
        _active = DescribeActive();
        (_activeSchema, _validator) = DescribeActiveSchema();
        _activeCatalog = DescribeActiveCatalog();
        _activeAccessRules = DescribeActiveAccessRules();
        return Task.CompletedTask;
    }

    public async Task<GrantResult<PolicyVersionInfo>> PublishAsync(string text, string author, CancellationToken cancellationToken)
    {
        var who = ProvenAuthor(author);
        if (!who.IsSuccess)
        {
            return who.Error;
        }
        var draft = CheckText(text);
        if (!draft.IsSuccess)
        {
            return Rejected(draft.Error!, who.Value);
        }
        return await PublishVersionAsync(text, draft.Value, _active.Info.Links, who.Value);
    }

    public Task<GrantResult<PolicyDraftCheck>> ValidateAsync(string text, CancellationToken cancellationToken)
    {
        // Every check a publish makes, in the same order, against the same active schema and links; nothing is stored.
        var draft = CheckText(text);
        var refusal = draft.IsSuccess ? CheckSet(draft.Value) : draft.Error;
        if (refusal is not null)
        {
            return Task.FromResult<GrantResult<PolicyDraftCheck>>(refusal);
        }
        return Task.FromResult<GrantResult<PolicyDraftCheck>>(new PolicyDraftCheck
        {
            Sha256 = PolicyText.Sha256(text),
            PolicyIds = [.. draft.Value.Policies.Select(p => p.Id)],
            SchemaVersion = _activeSchema.Info.Version,
            ActiveVersion = _active.Info.Version,
        });
    }

    // The checks of a new policy text before its set is validated: not empty, not too long, valid Cedar, and the active
    // version's template links (which carry over) each still find their template.
    private GrantResult<PolicySet> CheckText(string text)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            return new GrantError(GrantErrorCode.PolicyInvalid, "The policy text is empty; publish at least one policy (an empty set would deny everything).");
        }
        if (text.Length > _options.MaxPolicyTextLength)
        {
            return new GrantError(GrantErrorCode.PolicyInvalid, $"The policy text is {text.Length} characters; the limit is {_options.MaxPolicyTextLength} (GrantSilo:Policy:MaxPolicyTextLength).");
        }
        if (!PolicyText.TryParse(text, out var parsed, out var parseError))
        {
            return Positioned(GrantErrorCode.PolicyInvalid, "The policy text is not valid Cedar", parseError!.Position, parseError.Detail, parseError.Code.ToString());
        }
        if (TryLink(parsed!, _active.Info.Links, out var set) is { } linkError)
        {
            return linkError with { Message = linkError.Message + " Unlink it before publishing a text without its template." };
        }
        return set!;
    }

    // The checks of a policy set before it is stored: it validates against the active schema and stays within the limits.
    private GrantError? CheckSet(PolicySet set) =>
        Validate(set, _validator, _activeSchema.Info.Version) ?? TooCostly(set);

    public async Task<GrantResult<PolicyVersionInfo>> LinkTemplateAsync(PolicyLink link, string author, CancellationToken cancellationToken)
    {
        var who = ProvenAuthor(author);
        if (!who.IsSuccess)
        {
            return who.Error;
        }
        if (ValidateLink(link) is { } bad)
        {
            return Rejected(bad, who.Value);
        }
        if (TryLink(PolicyText.Parse(_active.Text), [.. _active.Info.Links, link], out var set) is { } linkError)
        {
            return Rejected(linkError, who.Value);
        }
        return await PublishVersionAsync(_active.Text, set!, [.. _active.Info.Links, link], who.Value);
    }

    public async Task<GrantResult<PolicyVersionInfo>> UnlinkTemplateAsync(string linkId, string author, CancellationToken cancellationToken)
    {
        var who = ProvenAuthor(author);
        if (!who.IsSuccess)
        {
            return who.Error;
        }
        var links = _active.Info.Links.Where(l => l.LinkId != linkId).ToList();
        if (links.Count == _active.Info.Links.Count)
        {
            return Rejected(new GrantError(GrantErrorCode.InvalidArgument, $"The active policy version {_active.Info.Version} has no link '{Untrusted.Id(linkId)}'.", target: Untrusted.Id(linkId)), who.Value);
        }
        return await PublishVersionAsync(_active.Text, PolicyText.Compile(_active.Text, links), links, who.Value);
    }

    private static GrantError? ValidateLink(PolicyLink? link)
    {
        if (link is null)
        {
            return new GrantError(GrantErrorCode.InvalidArgument, "A template link is required.");
        }
        foreach (var (name, value) in new[] { ("Link id", link.LinkId), ("Template id", link.TemplateId) })
        {
            if (!Canonical.Identifier(value, name).IsSuccess || value.Length > 128)
            {
                return new GrantError(GrantErrorCode.InvalidArgument, $"{name} '{Untrusted.Id(value)}' must be a canonical identifier of at most 128 characters.");
            }
        }
        if ((link.PrincipalType is null) != (link.PrincipalId is null))
        {
            return new GrantError(GrantErrorCode.InvalidArgument, "A principal slot value needs both a type and an id.");
        }
        if (link.PrincipalType is { } type && type is not (CedarRequestBuilder.PersonType or CedarRequestBuilder.GroupType or CedarRequestBuilder.AgentType))
        {
            return new GrantError(GrantErrorCode.InvalidArgument, $"A principal slot holds a {CedarRequestBuilder.PersonType}, {CedarRequestBuilder.GroupType} or {CedarRequestBuilder.AgentType}; not '{Untrusted.Id(type)}'.");
        }
        foreach (var (name, value) in new[] { ("Principal id", link.PrincipalId), ("Resource id", link.ResourceId) })
        {
            if (value is not null && (!Canonical.Identifier(value, name).IsSuccess || value.Length > 1024))
            {
                return new GrantError(GrantErrorCode.InvalidArgument, $"{name} must be canonical text of at most 1024 characters.");
            }
        }
        return null;
    }

    // Applies the links to a parsed text; a link that does not fit is a refusal naming it.
    private static GrantError? TryLink(PolicySet parsed, IReadOnlyList<PolicyLink> links, out PolicySet? set)
    {
        set = parsed;
        // One link at a time, so a refusal names exactly the link that does not fit.
        foreach (var link in links)
        {
            try
            {
                set = PolicyText.Link(set, [link]);
            }
            catch (PolicyLinkException exception)
            {
                set = null;
                return new GrantError(GrantErrorCode.PolicyInvalid, $"Template link '{link.LinkId}' does not fit: {exception.Message}.", target: link.LinkId)
                {
                    DetailCode = exception.Code.ToString(),
                };
            }
        }
        return null;
    }

    // Every new version, whatever made it (new text, a link, an unlink): validated against the active
    // schema, within the size and cost limits, durable, then installed on every silo before returning.
    // The author is the caller that proved who it is; a different name is refused, never recorded.
    private static GrantResult<string> ProvenAuthor(string? author)
    {
        var proven = CallerContext.ProvenName(author, "The author");
        return proven.IsSuccess ? Canonical.Identifier(proven.Value, "Author") : proven;
    }

    private async Task<GrantResult<PolicyVersionInfo>> PublishVersionAsync(string text, PolicySet set, IReadOnlyList<PolicyLink> links, string author)
    {
        if (CheckSet(set) is { } refused)
        {
            return Rejected(refused, author);
        }

        var version = new StoredPolicyVersion
        {
            Version = Math.Max(state.State.LastVersion, state.State.Versions.Count > 0 ? state.State.Versions[^1].Version : 0) + 1,
            Author = author,
            PublishedAt = time.GetUtcNow(),
            Sha256 = PolicyText.Sha256(text),
            PolicyIds = [.. set.Policies.Select(p => p.Id)],
            Links = [.. links],
        };
        try
        {
            // The text first, in its own grain: a version the store records always has its text.
            await GrainFactory.GetGrain<IPolicyVersionGrain>(version.Version).WriteAsync(version, text);
        }
        catch (Exception exception)
        {
            LogPublishFailed(logger, exception, version.Version);
            return GrantResult<PolicyVersionInfo>.Fail(GrantErrorCode.Unavailable, "GrantSilo could not durably record the new policy version; the active version is unchanged. Retry the publish.");
        }
        if (state.State.Versions.Count >= MaxVersionRecords)
        {
            state.State.Versions.RemoveAt(0);
        }
        state.State.Versions.Add(version);
        state.State.ActiveVersion = version.Version;
        state.State.ActiveText = text;
        state.State.LastVersion = version.Version;
        // Never rolled back: a failed write is read back, so the answer says what storage holds.
        if (!await Durable.TryWriteAsync() && (Durable.Unsettled || state.State.ActiveVersion != version.Version))
        {
            LogPublishFailed(logger, null, version.Version);
            return GrantResult<PolicyVersionInfo>.Fail(GrantErrorCode.Unavailable, Durable.Unsettled
                ? "GrantSilo could not confirm that the new policy version was recorded; it may or may not be active. Read the active version, then retry if it is not."
                : "GrantSilo could not durably record the new policy version; the active version is unchanged. Retry the publish.");
        }

        var published = new PolicySetVersion { Info = Describe(version, isActive: true), Text = text };
        _active = published;
        LogPublished(logger, version.Version, author, version.PolicyIds.Count);
        await AuditPublishedAsync(AuditEventKind.PolicyPublished, version.Version, $"Policy version {version.Version} by {author}: {version.PolicyIds.Count} policies.");
        engine.InstallLocal(CompiledPolicy.From(published.Info, set, _options));
        await PropagateAsync("policy", version.Version, observer => observer.InstallAsync(published), entry => entry.KnownVersion, (entry, v) => entry.KnownVersion = Math.Max(entry.KnownVersion, v));
        return published.Info;
    }

    public Task<PolicySetVersion> GetActiveAsync(CancellationToken cancellationToken) => Task.FromResult(_active);

    public Task<SchemaVersion> GetActiveSchemaAsync(CancellationToken cancellationToken) => Task.FromResult(_activeSchema);

    public async Task<GrantResult<SchemaVersionInfo>> PublishSchemaAsync(string text, string author, CancellationToken cancellationToken)
    {
        var who = ProvenAuthor(author);
        if (!who.IsSuccess)
        {
            return who.Error;
        }
        if (string.IsNullOrWhiteSpace(text) || text.Length > _options.MaxPolicyTextLength)
        {
            return RejectedSchema(new GrantError(GrantErrorCode.SchemaInvalid, $"The schema text must be non-empty and at most {_options.MaxPolicyTextLength} characters (GrantSilo:Policy:MaxPolicyTextLength)."), who.Value);
        }
        if (!CedarSchema.TryParse(text, out var schema, out var parseError))
        {
            return RejectedSchema(Positioned(GrantErrorCode.SchemaInvalid, "The schema is not a valid Cedar schema", parseError!.Position, parseError.Detail, parseError.Code.ToString()), who.Value);
        }
        if (GrantSiloSchema.MissingDeclarations(schema!) is { } missing)
        {
            return RejectedSchema(new GrantError(GrantErrorCode.SchemaInvalid, $"The schema no longer describes GrantSilo's decisions: {missing} Extend the shipped schema (GetActiveSchemaAsync) rather than replacing it."), who.Value);
        }
        var validator = Validator(schema!);
        if (Validate(PolicyText.Compile(_active.Text, _active.Info.Links), validator, version: null) is { } breaks)
        {
            return RejectedSchema(breaks with { Code = GrantErrorCode.SchemaInvalid, Message = $"The active policy set (version {_active.Info.Version}) would not validate against this schema: {breaks.Message}" }, who.Value);
        }

        var stored = new StoredSchemaVersion
        {
            Version = Math.Max(state.State.ActiveSchemaVersion, state.State.SchemaVersions.Count > 0 ? state.State.SchemaVersions[^1].Version : 0) + 1,
            Author = who.Value,
            PublishedAt = time.GetUtcNow(),
            Sha256 = PolicyText.Sha256(text),
            Text = text,
        };
        if (state.State.SchemaVersions.Count >= MaxSchemaVersions)
        {
            state.State.SchemaVersions.RemoveAt(0);
        }
        state.State.SchemaVersions.Add(stored);
        state.State.ActiveSchemaVersion = stored.Version;
        // A publish that has begun finishes whatever its caller does; a failed write is read back, never rolled back.
        if (!await Durable.TryWriteAsync() && (Durable.Unsettled || state.State.ActiveSchemaVersion != stored.Version))
        {
            LogPublishFailed(logger, null, stored.Version);
            return GrantResult<SchemaVersionInfo>.Fail(GrantErrorCode.Unavailable, Durable.Unsettled
                ? "GrantSilo could not confirm that the new schema version was recorded; it may or may not be active. Read the active schema, then retry if it is not."
                : "GrantSilo could not durably record the new schema version; the active schema is unchanged. Retry the publish.");
        }
        _activeSchema = new SchemaVersion { Info = DescribeSchema(stored, isActive: true), Text = text };
        _validator = validator;
        LogSchemaPublished(logger, stored.Version, who.Value);
        await AuditPublishedAsync(AuditEventKind.SchemaPublished, stored.Version, $"Schema version {stored.Version} by {who.Value}.");
        return _activeSchema.Info;
    }

    // Size and cost limits, named in the refusal so the author knows what to change (or ask an operator to raise).
    private GrantError? TooCostly(PolicySet set)
    {
        var violations = _options.Limits.Check(set);
        if (violations.Count == 0)
        {
            return null;
        }
        var first = violations[0];
        var more = violations.Count > 1 ? $" ({violations.Count - 1} more limit(s) exceeded)" : "";
        return new GrantError(GrantErrorCode.PolicyTooCostly, $"The policy set exceeds a limit: {first.Message} ({GrantSiloPolicyOptions.KeyOf(first.Limit)} = {first.Maximum}){more}.", target: first.PolicyId)
        {
            DetailCode = first.Limit,
        };
    }

    // The first validation error of a policy set against a schema, as a refusal naming the policy, the
    // position and what to fix; null when the set validates.
    private static GrantError? Validate(PolicySet set, PolicyValidator validator, long? version)
    {
        var result = validator.Validate(set);
        if (result.IsValid)
        {
            return null;
        }
        var error = result.Errors[0];
        var more = result.Errors.Count > 1 ? $" ({result.Errors.Count - 1} more error(s) after this one)" : "";
        var against = version is { } v ? $"schema version {v}" : "the schema";
        return Positioned(GrantErrorCode.PolicyInvalid, $"Policy '{error.PolicyId}' does not validate against {against}", error.Position, error.Message + more, error.Code.ToString()) with { Target = error.PolicyId };
    }

    // A refusal that says where in the text the problem is and what it is.
    private static GrantError Positioned(GrantErrorCode code, string what, SourcePosition position, string detail, string detailCode) =>
        new(code, $"{what} at line {position.Line}, column {position.Column}: {detail}")
        {
            Position = new TextPosition(position.Offset, position.Line, position.Column),
            DetailCode = detailCode,
        };

    private (SchemaVersion Schema, PolicyValidator Validator) DescribeActiveSchema()
    {
        var active = state.State.ActiveSchemaVersion;
        var stored = active == 0 ? null : state.State.SchemaVersions.FirstOrDefault(v => v.Version == active);
        if (stored is null)
        {
            return (new SchemaVersion { Info = GrantSiloSchema.Info(isActive: true), Text = GrantSiloSchema.Text }, Validator(GrantSiloSchema.Schema));
        }
        return (new SchemaVersion { Info = DescribeSchema(stored, isActive: true), Text = stored.Text }, Validator(CedarSchema.Parse(stored.Text)));
    }

    // Strict validation, and a policy that can never apply (no action in its scope fits its principal and
    // resource types) is an error too: it is almost always a mistake that would silently do nothing.
    private static PolicyValidator Validator(CedarSchema schema) =>
        new(schema, new PolicyValidatorOptions { InapplicableActionIsError = true });

    private static SchemaVersionInfo DescribeSchema(StoredSchemaVersion version, bool isActive) => new()
    {
        Version = version.Version,
        Author = version.Author,
        PublishedAt = version.PublishedAt,
        Sha256 = version.Sha256,
        IsActive = isActive,
    };

    private GrantResult<SchemaVersionInfo> RejectedSchema(GrantError error, string author)
    {
        LogPublishRejected(logger, author, error.Code, error.DetailCode, error.Position);
        return error;
    }

    public async Task<GrantResult<PolicySetVersion>> GetVersionAsync(long version, CancellationToken cancellationToken)
    {
        var active = _active;
        if (version == active.Info.Version)
        {
            return active;
        }
        if (version == 0)
        {
            return new PolicySetVersion { Info = DefaultPolicySet.Info(isActive: false), Text = DefaultPolicySet.Text };
        }
        var stored = version > 0 && version < active.Info.Version ? await GrainFactory.GetGrain<IPolicyVersionGrain>(version).ReadAsync() : null;
        if (stored?.Record is null)
        {
            return GrantResult<PolicySetVersion>.Fail(GrantErrorCode.InvalidArgument, $"There is no policy version {version}; the active version is {active.Info.Version}.");
        }
        return new PolicySetVersion { Info = Describe(stored.Record, isActive: false), Text = stored.Text };
    }

    public Task<IReadOnlyList<PolicyVersionInfo>> ListVersionsAsync(CancellationToken cancellationToken)
    {
        var active = _active.Info.Version;
        var list = new List<PolicyVersionInfo>(state.State.Versions.Count + 1) { DefaultPolicySet.Info(isActive: active == 0) };
        foreach (var version in state.State.Versions)
        {
            // Versions newer than the durable active one are in the middle of being written.
            if (version.Version <= active)
            {
                list.Add(Describe(version, version.Version == active));
            }
        }
        return Task.FromResult<IReadOnlyList<PolicyVersionInfo>>(list);
    }

    public Task<PolicySyncResponse> SyncAsync(PolicySyncRequest request)
    {
        var active = _active;
        var catalog = _activeCatalog;
        var rules = _activeAccessRules;
        var entry = _silos.TryGetValue(request.Silo, out var known) ? known : _silos[request.Silo] = new SiloEntry();
        if (request.Observer is not null)
        {
            entry.Observer = request.Observer;
        }
        // The silo will hold the active version once it reads this answer; its lease runs from before it asked.
        entry.KnownVersion = active.Info.Version;
        entry.KnownCatalogVersion = catalog.Info.Version;
        entry.KnownAccessRulesVersion = rules.Info.Version;
        entry.LastContact = _clock.GetTimestamp();
        return Task.FromResult(new PolicySyncResponse
        {
            Active = active.Info,
            Text = request.KnownVersion == active.Info.Version && request.KnownSha256 == active.Info.Sha256 ? null : active.Text,
            Catalog = catalog.Info,
            CatalogText = request.KnownCatalogVersion == catalog.Info.Version && request.KnownCatalogSha256 == catalog.Info.Sha256 ? null : catalog.Text,
            AccessRules = rules.Info,
            AccessRulesText = request.KnownAccessRulesVersion == rules.Info.Version && request.KnownAccessRulesSha256 == rules.Info.Sha256 ? null : rules.Text,
        });
    }

    // Makes sure every active silo uses a version just made durable (and installed on this silo) before a publish
    // returns: pushed to each silo's engine, and a silo that does not acknowledge is waited out. Shared by policy
    // and catalog versions; 'known' and 'installed' read and record which version of that kind a silo holds.
    private async Task PropagateAsync(string what, long version, Func<IPolicySiloObserver, Task> push, Func<SiloEntry, long> known, Action<SiloEntry, long> installed)
    {
        var lease = _options.ConfirmationLease + LeaseMargin;
        Dictionary<SiloAddress, SiloStatus> hosts;
        try
        {
            hosts = await GrainFactory.GetGrain<IManagementGrain>(0).GetHosts(onlyActive: true);
        }
        catch (Exception exception)
        {
            // Without the list of silos, wait out every confirmation any silo could hold: each was
            // given before the new version became the one this store answers with.
            LogSiloNotAcknowledged(logger, exception, localSilo.SiloAddress, what, version);
            await Task.Delay(lease, _clock);
            return;
        }
        var waiting = hosts.Keys.Where(silo => !silo.Equals(localSilo.SiloAddress)).ToHashSet();
        foreach (var gone in _silos.Keys.Where(silo => !hosts.ContainsKey(silo) && !silo.Equals(localSilo.SiloAddress)).ToList())
        {
            _silos.Remove(gone);
        }

        await Task.WhenAll(waiting.Select(async silo =>
        {
            if (!_silos.TryGetValue(silo, out var entry) || entry.Observer is null)
            {
                return;
            }
            try
            {
                await push(entry.Observer).WaitAsync(_options.PublishAckTimeout, _clock);
                installed(entry, version);
                entry.LastContact = _clock.GetTimestamp();
            }
            catch (Exception exception)
            {
                entry.Observer = null;
                LogSiloNotAcknowledged(logger, exception, silo, what, version);
            }
        }));

        // Silos that did not install the version are waited out: once a silo's confirmation lease has
        // lapsed it cannot decide without asking this store, which answers with the new version.
        while (true)
        {
            waiting.RemoveWhere(silo => _silos.TryGetValue(silo, out var entry) && known(entry) >= version);
            var now = _clock.GetTimestamp();
            waiting.RemoveWhere(silo => _clock.GetElapsedTime(_silos.TryGetValue(silo, out var entry) ? entry.LastContact : _activatedAt, now) >= lease);
            if (waiting.Count == 0)
            {
                return;
            }
            await Task.Delay(WaitPoll, _clock);
        }
    }

    private PolicySetVersion DescribeActive()
    {
        var active = state.State.ActiveVersion;
        var stored = active == 0 ? null : state.State.Versions.FirstOrDefault(v => v.Version == active);
        if (stored is null || state.State.ActiveText is null)
        {
            return new PolicySetVersion { Info = DefaultPolicySet.Info(isActive: true), Text = DefaultPolicySet.Text };
        }
        return new PolicySetVersion { Info = Describe(stored, isActive: true), Text = state.State.ActiveText };
    }

    private GrantResult<PolicyVersionInfo> Rejected(GrantError error, string author)
    {
        LogPublishRejected(logger, author, error.Code, error.DetailCode, error.Position);
        return error;
    }

    private static PolicyVersionInfo Describe(StoredPolicyVersion version, bool isActive) => new()
    {
        Version = version.Version,
        Author = version.Author,
        PublishedAt = version.PublishedAt,
        Sha256 = version.Sha256,
        PolicyIds = [.. version.PolicyIds],
        IsActive = isActive,
        Links = [.. version.Links],
    };

    private sealed class SiloEntry
    {
        public IPolicySiloObserver? Observer { get; set; }
        public long KnownVersion { get; set; } = -1;
        public long KnownCatalogVersion { get; set; } = -1;
        public long KnownAccessRulesVersion { get; set; } = -1;
        public long LastContact { get; set; }
    }
}
