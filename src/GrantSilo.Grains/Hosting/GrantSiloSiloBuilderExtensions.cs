using GrantSilo.Grains.Catalog;
using System.ComponentModel.DataAnnotations;
using GrantSilo.Grains.Access;
using GrantSilo.Grains.Audit;
using GrantSilo.Identity;
using GrantSilo.Grains.Decisions;
using GrantSilo.Grains.Fencing;
using GrantSilo.Grains.Hosting;
using GrantSilo.Grains.Lifecycle;
using GrantSilo.Grains.Policies;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Orleans.Serialization;
using Orleans.Storage;

namespace GrantSilo.Hosting;

/// <summary>Adds GrantSilo's grains and services to a silo.</summary>
public static class GrantSiloSiloBuilderExtensions
{
    /// <summary>
    /// Adds GrantSilo: lifecycle and policy options (validated at start-up), the decision clock, the
    /// policy engine (the active Cedar policy set compiled on every silo, the shipped default until
    /// the first publish), the audit seam with its embedded default, and the fence: the membership
    /// silo lease (<see cref="MembershipSiloLease"/>, tuned through <see cref="SiloLeaseOptions"/>) that
    /// makes every GrantSilo grain on a silo which cannot confirm it is a live cluster member refuse to
    /// answer. Storage, clustering and reminders are configured separately. Policy options bind from <see cref="GrantSiloPolicyOptions.SectionName"/>
    /// when the host configures them (<c>services.Configure&lt;GrantSiloPolicyOptions&gt;(...)</c>) or through
    /// <paramref name="configurePolicy"/>.
    /// </summary>
    public static ISiloBuilder AddGrantSilo(this ISiloBuilder builder, Action<GrantSiloOptions>? configure = null, Action<GrantSiloPolicyOptions>? configurePolicy = null)
    {
        builder.Services.AddGrantSiloCore(configure, configurePolicy);
        // Who is calling: trusted issuers from GrantSilo:Identity (and the development issuer when enabled).
        builder.Services.AddGrantSiloIdentity(builder.Configuration);
        return builder;
    }

    internal static IServiceCollection AddGrantSiloCore(this IServiceCollection services, Action<GrantSiloOptions>? configure, Action<GrantSiloPolicyOptions>? configurePolicy = null)
    {
        var options = services.AddOptions<GrantSiloOptions>();
        if (configure is not null)
        {
            options.Configure(configure);
        }
        options.ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<GrantSiloOptions>, GrantSiloOptionsValidator>());
        var policyOptions = services.AddOptions<GrantSiloPolicyOptions>();
        if (configurePolicy is not null)
        {
            policyOptions.Configure(configurePolicy);
        }
        policyOptions.ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<GrantSiloPolicyOptions>, GrantSiloPolicyOptionsValidator>());
        services.TryAddKeyedSingleton(GrantSiloTime.ServiceKey, TimeProvider.System);
        services.TryAddKeyedSingleton(GrantSiloTime.LeaseClockKey, TimeProvider.System);
        // Signing keys: rings kept by grains, private keys wrapped by the key-encryption key (a KMS registers its own).
        services.AddOptions<GrantSilo.Grains.Keys.KeyRingOptions>().BindConfiguration(GrantSilo.Grains.Keys.KeyRingOptions.SectionName).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<GrantSilo.Grains.Keys.KeyRingOptions>, GrantSilo.Grains.Keys.KeyRingOptionsValidator>());
        services.TryAddSingleton<GrantSilo.Grains.Keys.IKeyEncryption, GrantSilo.Grains.Keys.ConfiguredKeyEncryption>();
        services.TryAddSingleton<GrantSilo.Grains.Keys.KeyRing>();
        services.AddOptions<GrantSilo.Grains.Tokens.TokenOptions>().BindConfiguration(GrantSilo.Grains.Tokens.TokenOptions.SectionName).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<GrantSilo.Grains.Tokens.TokenOptions>, GrantSilo.Grains.Tokens.TokenOptionsValidator>());
        services.TryAddSingleton<GrantSilo.Grains.Tokens.CredentialSigner>();
        services.TryAddSingleton<GrantSilo.Grains.Credentials.CredentialRecords>();
        services.TryAddSingleton<GrantSilo.Grains.Tokens.CredentialTokenVerifier>();
        // The key the silos share (their calls' marks, and the DPoP nonces below), even on a silo built without the door.
        services.AddOptions<ClusterCallOptions>().BindConfiguration(ClusterCallOptions.SectionName);
        // How large a message header a silo reads (GrantSilo:Messaging): its gateway reads one from any client that
        // connects, before any token is checked, and Orleans' own bound is 10 MiB.
        services.AddOptions<GrantSiloMessagingOptions>().BindConfiguration(GrantSiloMessagingOptions.SectionName).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<GrantSiloMessagingOptions>, GrantSiloMessagingOptionsValidator>());
        services.AddSingleton<IConfigureOptions<Orleans.Configuration.SiloMessagingOptions>, MessageLimits>();
        // And how deeply a client's message may nest (GrantSilo:Messaging:MaxMessageDepth): every frame a client sends the
        // gateway is walked before Orleans reads it, since Orleans' deserializer has no depth limit.
        services.TryAddSingleton<GrantSilo.Grains.Gateway.ClientFrameRules>();
        // A client id is held by one gateway connection at a time; the hand-over wait is network time, not GrantSilo's clock.
        services.TryAddSingleton(_ => new GrantSilo.Grains.Gateway.ClientIdHolds(TimeProvider.System));
        services.TryAddSingleton<GrantSilo.Grains.Gateway.GatewayFrameGuard>();
        services.AddSingleton<IPostConfigureOptions<Orleans.Configuration.SiloConnectionOptions>, GatewayGuardPlacement>();
        services.TryAddSingleton<ClusterCallKey>();
        // DPoP proofs are checked by the credential grain for every door (HTTP and SDK alike), with one replay memory per
        // silo and nonces every silo accepts (made with a key derived from the cluster's shared call key).
        services.AddOptions<GrantSilo.Identity.Tokens.DpopOptions>().BindConfiguration(GrantSilo.Identity.Tokens.DpopOptions.SectionName);
        services.TryAddSingleton(sp => new GrantSilo.Identity.Tokens.DpopProofVerifier(
            sp.GetRequiredService<IOptions<GrantSilo.Identity.Tokens.DpopOptions>>().Value,
            sp.GetRequiredKeyedService<TimeProvider>(GrantSiloTime.ServiceKey),
            sp.GetRequiredService<ClusterCallKey>().DpopNonceKey()));
        // Grain state is stored with the Orleans serializer: its stable [Id]s and [Alias]es survive
        // renames, and it round-trips immutable contract types (Scope) that JSON cannot rebuild.
        services.AddSingleton<IGrainStorageSerializer>(sp => new OrleansGrainStorageSerializer(sp.GetRequiredService<Serializer>()));
        if (!services.Any(d => d.ServiceType == typeof(PolicyEngineHost)))
        {
            services.AddSingleton<PolicyEngineHost>();
            services.AddSingleton<ILifecycleParticipant<ISiloLifecycle>>(sp => sp.GetRequiredService<PolicyEngineHost>());
        }
        services.TryAddSingleton<IAccessPolicy, CedarAccessPolicy>();
        services.TryAddSingleton<IResourceCatalogSource>(sp => sp.GetRequiredService<PolicyEngineHost>());
        services.TryAddSingleton<IAccessRulesSource>(sp => sp.GetRequiredService<PolicyEngineHost>());
        // Version 0 of the access rules (shipped, or GrantSilo:Access:RulesFile), served by the policy store.
        services.AddOptions<AccessRulesOptions>().BindConfiguration(AccessRulesOptions.SectionName);
        services.TryAddSingleton<AccessRules>();
        // Every incoming call passes three checks, in this order, in one filter (IncomingCallChecks: a call that waits, as an
        // audited decision does, suspends one frame of Orleans' filter pipeline per filter).
        // 1. A malformed grain key is refused before anything else looks at the call (it is the caller's own input).
        services.TryAddSingleton<GrainKeyCallFilter>();
        // How many of the refusals (the key check's and the door's) are logged and audited one by one.
        services.TryAddSingleton<RefusalRecords>();
        // How fast each authenticated caller may call through the gateway (GrantSilo:Callers).
        services.AddOptions<CallerLimitOptions>().BindConfiguration(CallerLimitOptions.SectionName).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<CallerLimitOptions>, CallerLimitOptionsValidator>());
        services.TryAddSingleton<CallerRates>();
        // 2. The fence, on every cluster. A host may register its own ISiloLease first (tests do).
        services.AddOptions<SiloLeaseOptions>();
        services.TryAddSingleton<MembershipSiloLease>();
        services.TryAddSingleton<ISiloLease>(sp => sp.GetRequiredService<MembershipSiloLease>());
        var fenced = false;
        if (!services.Any(d => d.ServiceType == typeof(SiloLeaseCallFilter)))
        {
            fenced = true;
            services.AddSingleton<SiloLeaseCallFilter>();
            // Renews only when it is the lease in force.
            services.AddSingleton<ILifecycleParticipant<ISiloLifecycle>>(sp => sp.GetRequiredService<ISiloLease>() as ILifecycleParticipant<ISiloLifecycle> ?? NoParticipant.Instance);
            services.AddSingleton<IPostConfigureOptions<Orleans.Configuration.GrainDirectoryOptions>, DirectoryHoldOutlastsLease>();
            services.AddSingleton<IValidateOptions<GrantSiloOptions>, DecisionLeaseFitsSiloLease>();
        }
        // 3. The door: every call from outside the cluster proves its caller, and the access rules decide it.
        // After the fence: a silo that cannot confirm it is a live member answers at once, without first
        // waiting to confirm its access rules with a store it may no longer reach.
        var gated = false;
        if (!services.Any(d => d.ServiceType == typeof(CallerGate)))
        {
            gated = true;
            services.TryAddSingleton(TimeProvider.System);
            services.AddSingleton<CallerGate>();
            services.AddSingleton<IOutgoingGrainCallFilter, InternalCallMarker>();
        }
        // The door's decision for callers another door of the silo verified (the HTTP API's).
        services.TryAddSingleton(sp => new CallerAccess(gated ? sp.GetRequiredService<CallerGate>() : null));
        if (!services.Any(d => d.ServiceType == typeof(IncomingCallChecks)))
        {
            services.AddSingleton(sp => new IncomingCallChecks(
                sp.GetRequiredService<GrainKeyCallFilter>(),
                fenced ? sp.GetRequiredService<SiloLeaseCallFilter>() : null,
                gated ? sp.GetRequiredService<CallerGate>() : null));
            services.AddSingleton<IIncomingGrainCallFilter>(sp => sp.GetRequiredService<IncomingCallChecks>());
        }
        // Whether this silo can answer calls yet (the host's readiness).
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<SiloReadiness>();
        // Every lifecycle grain refuses calls while its own key is malformed (GrainKeys).
        services.TryAddSingleton<LifecycleServices>();
        services.AddGrantSiloAudit();
        return services;
    }

    /// <summary>
    /// Adds a durable audit log in append-only segment files (<see cref="FileAuditStore"/>, options from
    /// <see cref="FileAuditStoreOptions.SectionName"/>): the embedded default. Without a store, a silo keeps its audit in
    /// memory only.
    /// </summary>
    public static ISiloBuilder AddFileAuditStore(this ISiloBuilder builder, Action<FileAuditStoreOptions>? configure = null)
    {
        var options = builder.Services.AddOptions<FileAuditStoreOptions>();
        if (configure is not null)
        {
            options.Configure(configure);
        }
        builder.Services.AddSingleton<FileAuditStore>();
        builder.Services.AddSingleton<IAuditStore>(sp => sp.GetRequiredService<FileAuditStore>());
        return builder;
    }

    // The store of a silo built without one: the newest lines in memory, signing the cut when it drops older ones.
    private static MemoryAuditStore DefaultMemoryStore(IServiceProvider services) => new(capacity: 100_000, services.GetRequiredService<AuditKeys>());

    private static bool InMemoryAudit(IServiceCollection services) =>
        services.LastOrDefault(d => d.ServiceType == typeof(IAuditStore) && !d.IsKeyedService) is not { } store
        || store.ImplementationInstance is MemoryAuditStore
        || store.ImplementationType == typeof(MemoryAuditStore)
        || store.ImplementationFactory?.Method == ((Func<IServiceProvider, MemoryAuditStore>)DefaultMemoryStore).Method;

    // The audit trail every decision and lifecycle event is recorded in: the journal over the store (memory when no
    // store is added), the keys, the reader behind the audit grain.
    private static void AddGrantSiloAudit(this IServiceCollection services)
    {
        services.AddOptions<AuditOptions>().BindConfiguration(AuditOptions.SectionName).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<AuditOptions>, AuditOptionsValidator>());
        services.AddOptions<FileAuditStoreOptions>().BindConfiguration(FileAuditStoreOptions.SectionName).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<FileAuditStoreOptions>, FileAuditStoreOptionsValidator>());
        services.TryAddSingleton<IAuditStore>(DefaultMemoryStore);
        services.TryAddSingleton(sp =>
        {
            var options = sp.GetRequiredService<IOptions<AuditOptions>>();
            // A silo whose audit is in memory keeps its keys in memory too (unless keys are configured). Told from the
            // registration, not by resolving the store: the stores take the keys (they sign retention cuts).
            return InMemoryAudit(services) && options.Value is { SigningKeyFile: null, HashKeyFile: null, KeyDirectory: null }
                ? AuditKeys.Ephemeral()
                : new AuditKeys(options, sp.GetRequiredService<IOptions<FileAuditStoreOptions>>());
        });
        services.TryAddSingleton<AuditReader>();
        if (!services.Any(d => d.ServiceType == typeof(AuditJournal)))
        {
            services.AddSingleton<AuditJournal>();
            services.AddSingleton<ILifecycleParticipant<ISiloLifecycle>>(sp => sp.GetRequiredService<AuditJournal>());
        }
        services.TryAddSingleton<IAuditTrail>(sp => sp.GetRequiredService<IOptions<AuditOptions>>().Value.Enabled
            ? sp.GetRequiredService<AuditJournal>()
            : new UnauditedTrail());
    }

    private sealed class AuditOptionsValidator : IValidateOptions<AuditOptions>
    {
        public ValidateOptionsResult Validate(string? name, AuditOptions options) => ValidateObject(options);
    }

    private sealed class FileAuditStoreOptionsValidator : IValidateOptions<FileAuditStoreOptions>
    {
        public ValidateOptionsResult Validate(string? name, FileAuditStoreOptions options) => ValidateObject(options);
    }

    private sealed class GrantSiloOptionsValidator : IValidateOptions<GrantSiloOptions>
    {
        public ValidateOptionsResult Validate(string? name, GrantSiloOptions options) => ValidateObject(options);
    }

    private sealed class CallerLimitOptionsValidator : IValidateOptions<CallerLimitOptions>
    {
        public ValidateOptionsResult Validate(string? name, CallerLimitOptions options) => ValidateObject(options);
    }

    private sealed class GrantSiloMessagingOptionsValidator : IValidateOptions<GrantSiloMessagingOptions>
    {
        public ValidateOptionsResult Validate(string? name, GrantSiloMessagingOptions options) => ValidateObject(options);
    }

    private sealed class GrantSiloPolicyOptionsValidator : IValidateOptions<GrantSiloPolicyOptions>
    {
        public ValidateOptionsResult Validate(string? name, GrantSiloPolicyOptions options) => ValidateObject(options);
    }

    private static ValidateOptionsResult ValidateObject(object options)
    {
        var results = new List<ValidationResult>();
        return Validator.TryValidateObject(options, new ValidationContext(options), results, validateAllProperties: true)
            ? ValidateOptionsResult.Success
            : ValidateOptionsResult.Fail(results.Select(r => r.ErrorMessage ?? "invalid GrantSilo option"));
    }
}
