using GrantSilo.Cedar;
using GrantSilo.Grains.Access;
using GrantSilo.Grains.Catalog;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace GrantSilo.Grains.Policies;

/// <summary>One compiled policy version, shared by every decision on the silo.</summary>
internal sealed record CompiledPolicy(PolicyVersionInfo Info, PolicySet Set, Authorizer Authorizer)
{
    public long Version => Info.Version;

    public static CompiledPolicy Compile(PolicySetVersion version, GrantSiloPolicyOptions options) =>
        From(version.Info, PolicyText.Compile(version.Text, version.Info.Links), options);

    /// <summary>Every decision with this version runs on the configured evaluation budget.</summary>
    public static CompiledPolicy From(PolicyVersionInfo info, PolicySet set, GrantSiloPolicyOptions options) =>
        new(info, set, new Authorizer(set, new AuthorizerOptions { EvaluationBudget = options.EvaluationBudget }));
}

/// <summary>
/// The silo's policy engine: holds the compiled <see cref="Authorizer"/> of the active version so a
/// decision is CPU work, never a grain call. The version is current by two mechanisms:
/// <list type="bullet">
/// <item>the store pushes every new version to each silo (through this observer) and waits for it
/// to be installed before the publish returns;</item>
/// <item>each silo confirms the active version with the store every
/// <see cref="GrantSiloPolicyOptions.RefreshInterval"/>, and decides with a version for at most
/// <see cref="GrantSiloPolicyOptions.ConfirmationLease"/> after its last confirmation. A lapsed
/// confirmation is renewed on the next decision; if that fails, the decision is denied (fail closed).
/// A publish that cannot reach a silo waits until that silo's confirmation has lapsed.</item>
/// </list>
/// The resource catalog travels the same way: it is pushed with <see cref="InstallCatalogAsync"/>, and every
/// confirmation confirms the active policy version and the active catalog version together, under one lease.
/// So do the access rules (<see cref="InstallAccessRulesAsync"/>, <see cref="GetConfirmedAccessRulesAsync"/>): the
/// caller gate decides with the version confirmed under the same lease, and refuses when it cannot be confirmed. The
/// confirmation is a call inside the cluster (marked), which the gate passes without consulting any rules, so the
/// rules' own renewal can never be refused by the rules.
/// </summary>
internal sealed partial class PolicyEngineHost : IPolicySiloObserver, IResourceCatalogSource, IAccessRulesSource, ILifecycleParticipant<ISiloLifecycle>, IDisposable
{
    private readonly IGrainFactory _grains;
    private readonly ILocalSiloDetails _silo;
    private readonly GrantSiloPolicyOptions _options;
    private readonly ILogger<PolicyEngineHost> _logger;
    private readonly TimeProvider _clock = TimeProvider.System;
    private readonly CancellationTokenSource _stopping = new();
    private readonly Lock _gate = new();
    private CompiledPolicy? _current;
    private ResourceCatalog? _catalog;
    private InstalledAccessRules? _accessRules;
    private long _confirmedUntil;
    private Task? _refreshing;
    private IPolicySiloObserver? _observer;
    private Task? _loop;

    public PolicyEngineHost(IGrainFactory grains, ILocalSiloDetails silo, IOptions<GrantSiloPolicyOptions> options, ILogger<PolicyEngineHost> logger)
    {
        _grains = grains;
        _silo = silo;
        _options = options.Value;
        _logger = logger;
    }

    /// <summary>The version installed now (confirmed or not), for diagnostics and tests.</summary>
    public CompiledPolicy? Current => Volatile.Read(ref _current);

    /// <summary>The catalog version installed now (confirmed or not), for diagnostics and tests.</summary>
    public ResourceCatalog? CurrentCatalog => Volatile.Read(ref _catalog);

    /// <summary>The access rules version installed now (confirmed or not), for diagnostics and tests.</summary>
    public InstalledAccessRules? CurrentAccessRules => Volatile.Read(ref _accessRules);

    /// <summary>The active version, confirmed with the store within the lease; null when it cannot be confirmed (deny).</summary>
    public ValueTask<CompiledPolicy?> GetConfirmedAsync() => GetConfirmedAsync(static host => Volatile.Read(ref host._current));

    /// <summary>The active resource catalog, confirmed with the store within the lease; null when it cannot be confirmed (deny).</summary>
    public ValueTask<ResourceCatalog?> GetConfirmedCatalogAsync() => GetConfirmedAsync(static host => Volatile.Read(ref host._catalog));

    /// <summary>The active access rules, confirmed with the store within the lease; null when they cannot be confirmed (refuse).</summary>
    public ValueTask<InstalledAccessRules?> GetConfirmedAccessRulesAsync() => GetConfirmedAsync(static host => Volatile.Read(ref host._accessRules));

    private ValueTask<T?> GetConfirmedAsync<T>(Func<PolicyEngineHost, T?> read) where T : class
    {
        var current = read(this);
        if (current is not null && _clock.GetTimestamp() < Volatile.Read(ref _confirmedUntil))
        {
            return ValueTask.FromResult<T?>(current);
        }
        return RefreshThenGetAsync();

        async ValueTask<T?> RefreshThenGetAsync()
        {
            try
            {
                await RefreshAsync();
            }
            catch (Exception exception)
            {
                LogSyncFailed(_logger, exception);
                return null;
            }
            var refreshed = read(this);
            return refreshed is not null && _clock.GetTimestamp() < Volatile.Read(ref _confirmedUntil) ? refreshed : null;
        }
    }

    /// <summary>Installs a catalog version the store on this silo has just made durable (no round trip).</summary>
    public void InstallLocalCatalog(ResourceCatalog catalog) => _ = InstallCatalog(catalog);

    /// <inheritdoc />
    public Task InstallCatalogAsync(ResourceCatalogVersion version)
    {
        _ = InstallCatalog(ResourceCatalog.Compile(version.Info, version.Text));
        return Task.CompletedTask;
    }

    // Catalog versions only move forward, like policy versions. The lease is the policy's: a push does not
    // extend it, a confirmation (which carries both) does. False when an older version was offered.
    private bool InstallCatalog(ResourceCatalog catalog)
    {
        lock (_gate)
        {
            var current = _catalog;
            if (current is not null && current.Version > catalog.Version)
            {
                LogOlderCatalogOffered(_logger, catalog.Version, current.Version);
                return false;
            }
            if (current is null || current.Version != catalog.Version || current.Info.Sha256 != catalog.Info.Sha256)
            {
                Volatile.Write(ref _catalog, catalog);
                LogCatalogInstalled(_logger, catalog.Version, catalog.Entries.Count, _silo.SiloAddress);
            }
            return true;
        }
    }

    /// <summary>Installs an access rules version the store on this silo has just made durable (no round trip).</summary>
    public void InstallLocalAccessRules(InstalledAccessRules rules) => _ = InstallAccessRules(rules);

    /// <inheritdoc />
    public Task InstallAccessRulesAsync(AccessRulesVersion version)
    {
        InstalledAccessRules compiled;
        try
        {
            compiled = InstalledAccessRules.Compile(version);
        }
        catch (Exception exception) when (exception is CedarParseException or InvalidOperationException)
        {
            LogAccessRulesInstallFailed(_logger, exception, version.Info.Version);
            throw;
        }
        _ = InstallAccessRules(compiled);
        return Task.CompletedTask;
    }

    // Access rules versions only move forward, like catalog versions, under the policy's lease.
    // False when an older version was offered.
    private bool InstallAccessRules(InstalledAccessRules rules)
    {
        lock (_gate)
        {
            var current = _accessRules;
            if (current is not null && current.Version > rules.Version)
            {
                LogOlderAccessRulesOffered(_logger, rules.Version, current.Version);
                return false;
            }
            if (current is null || current.Version != rules.Version || current.Info.Sha256 != rules.Info.Sha256)
            {
                Volatile.Write(ref _accessRules, rules);
                LogAccessRulesInstalled(_logger, rules.Version, rules.Info.Sha256, _silo.SiloAddress);
            }
            return true;
        }
    }

    /// <summary>Installs a version the store on this silo has just made durable (no round trip).</summary>
    public void InstallLocal(CompiledPolicy policy) => Install(policy, _clock.GetTimestamp());

    /// <inheritdoc />
    public Task InstallAsync(PolicySetVersion version)
    {
        var received = _clock.GetTimestamp();
        CompiledPolicy compiled;
        try
        {
            compiled = CompiledPolicy.Compile(version, _options);
        }
        catch (CedarParseException exception)
        {
            LogInstallFailed(_logger, exception, version.Info.Version);
            throw;
        }
        Install(compiled, received);
        return Task.CompletedTask;
    }

    /// <summary>Confirms the active version with the store now (single flight).</summary>
    public Task RefreshAsync()
    {
        lock (_gate)
        {
            if (_refreshing is { IsCompleted: false } running)
            {
                return running;
            }
            _refreshing = SyncAsync();
            return _refreshing;
        }
    }

    private async Task SyncAsync()
    {
        var sent = _clock.GetTimestamp();
        var held = Volatile.Read(ref _current);
        var heldCatalog = Volatile.Read(ref _catalog);
        var heldRules = Volatile.Read(ref _accessRules);
        var response = await _grains.GetGrain<IPolicyStoreSyncGrain>(0).SyncAsync(new PolicySyncRequest
        {
            Silo = _silo.SiloAddress,
            Observer = EnsureObserver(),
            KnownVersion = held?.Version,
            KnownSha256 = held?.Info.Sha256,
            KnownCatalogVersion = heldCatalog?.Version,
            KnownCatalogSha256 = heldCatalog?.Info.Sha256,
            KnownAccessRulesVersion = heldRules?.Version,
            KnownAccessRulesSha256 = heldRules?.Info.Sha256,
        }).ConfigureAwait(false);
        // The catalog first: the policy's install below is what extends the confirmation of both.
        var catalogInfo = response.Catalog ?? throw new InvalidOperationException("The policy store did not name the active resource catalog version.");
        var catalog = Volatile.Read(ref _catalog);
        if (catalog is null || catalog.Version != catalogInfo.Version || catalog.Info.Sha256 != catalogInfo.Sha256)
        {
            var catalogText = response.CatalogText ?? throw new InvalidOperationException($"The policy store did not send the text of resource catalog version {catalogInfo.Version}.");
            // An older catalog than the one held (a push overtook this answer, or the store lost its state):
            // keep the held one and do not extend the confirmation, as for policy versions.
            if (!InstallCatalog(ResourceCatalog.Compile(catalogInfo, catalogText)))
            {
                return;
            }
        }
        var rulesInfo = response.AccessRules ?? throw new InvalidOperationException("The policy store did not name the active access rules version.");
        var rules = Volatile.Read(ref _accessRules);
        if (rules is null || rules.Version != rulesInfo.Version || rules.Info.Sha256 != rulesInfo.Sha256)
        {
            var rulesText = response.AccessRulesText ?? throw new InvalidOperationException($"The policy store did not send the text of access rules version {rulesInfo.Version}.");
            if (!InstallAccessRules(InstalledAccessRules.Compile(new AccessRulesVersion { Info = rulesInfo, Text = rulesText })))
            {
                return;
            }
        }
        var current = Volatile.Read(ref _current);
        if (current is not null && current.Version == response.Active.Version && current.Info.Sha256 == response.Active.Sha256)
        {
            Install(current, sent);
            return;
        }
        var text = response.Text ?? throw new InvalidOperationException($"The policy store did not send the text of version {response.Active.Version}.");
        Install(CompiledPolicy.Compile(new PolicySetVersion { Info = response.Active, Text = text }, _options), sent);
    }

    private void Install(CompiledPolicy policy, long confirmedAt)
    {
        var until = confirmedAt + (long)(_options.ConfirmationLease.TotalSeconds * _clock.TimestampFrequency);
        lock (_gate)
        {
            var current = _current;
            // Versions only move forward: a confirmation that was in flight while a newer version was
            // pushed must not put the older one back.
            if (current is not null && current.Version > policy.Version)
            {
                // Normally a confirmation overtaken by a push. If it persists, the store has lost its
                // state; this silo then stops confirming and denies rather than move back.
                LogOlderVersionOffered(_logger, policy.Version, current.Version);
                return;
            }
            if (current is null || current.Version != policy.Version || current.Info.Sha256 != policy.Info.Sha256)
            {
                Volatile.Write(ref _current, policy);
                LogInstalled(_logger, policy.Version, _silo.SiloAddress);
            }
            if (until > _confirmedUntil)
            {
                Volatile.Write(ref _confirmedUntil, until);
            }
        }
    }

    private IPolicySiloObserver? EnsureObserver()
    {
        if (_observer is not null)
        {
            return _observer;
        }
        try
        {
            _observer = _grains.CreateObjectReference<IPolicySiloObserver>(this);
        }
        catch (Exception exception)
        {
            // Without a push channel this silo still confirms by polling; publishes wait for its lease.
            LogSyncFailed(_logger, exception);
        }
        return _observer;
    }

    public void Participate(ISiloLifecycle lifecycle) =>
        lifecycle.Subscribe(nameof(PolicyEngineHost), ServiceLifecycleStage.Active, OnStartAsync, OnStopAsync);

    private Task OnStartAsync(CancellationToken cancellationToken)
    {
        _loop = Task.Run(RefreshLoopAsync, CancellationToken.None);
        return Task.CompletedTask;
    }

    private async Task OnStopAsync(CancellationToken cancellationToken)
    {
        await _stopping.CancelAsync().ConfigureAwait(false);
        if (_loop is not null)
        {
            await _loop.WaitAsync(cancellationToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
    }

    private async Task RefreshLoopAsync()
    {
        using var timer = new PeriodicTimer(_options.RefreshInterval, _clock);
        try
        {
            do
            {
                try
                {
                    await RefreshAsync().ConfigureAwait(false);
                }
                catch (Exception exception) when (!_stopping.IsCancellationRequested)
                {
                    LogSyncFailed(_logger, exception);
                }
            }
            while (await timer.WaitForNextTickAsync(_stopping.Token).ConfigureAwait(false));
        }
        catch (OperationCanceledException) when (_stopping.IsCancellationRequested)
        {
            // The silo is stopping.
        }
        catch (Exception) when (_stopping.IsCancellationRequested)
        {
            // A refresh in flight failed because the silo is stopping.
        }
    }

    public void Dispose() => _stopping.Dispose();
}
