using System.Net;
using System.Net.Sockets;
using GrantSilo.Grains.Access;
using GrantSilo.Grains.Audit;
using GrantSilo.Grains.Hosting;
using GrantSilo.Grains.Policies;
using GrantSilo.Persistence.AzureTables;
using GrantSilo.Persistence.AzureTables.Audit;
using GrantSilo.Grains.Fencing;
using GrantSilo.Tls;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Orleans.Configuration;

namespace GrantSilo.Hosting;

/// <summary>
/// The silo host's configuration profiles, selected by <c>GrantSilo:Storage:Provider</c>. Public so
/// end-to-end tests build in-process silos from exactly the code the host runs.
/// </summary>
public static class GrantSiloSiloProfiles
{
    /// <summary>The section binding Orleans' <see cref="ClusterMembershipOptions"/> (probe timeouts and the like).</summary>
    public const string MembershipSection = "GrantSilo:Membership";

    /// <summary>The section binding Orleans' <see cref="ReminderOptions"/>.</summary>
    public const string RemindersSection = "GrantSilo:Reminders";

    /// <summary>
    /// The embedded default: one silo on localhost, grain storage in the silo's own memory (<see cref="LocalGrainStorageExtensions.AddLocalGrainStorage"/>), in-memory reminders, grain calls carrying the caller's
    /// trace, the audit log in append-only
    /// segment files (<c>GrantSilo:Audit:File</c>, docs/audit.md). TLS is off unless
    /// <c>GrantSilo:Tls:Enabled</c> is true (then with the certificates of <c>GrantSilo:Tls</c>).
    /// </summary>
    public static ISiloBuilder UseGrantSiloEmbeddedProfile(this ISiloBuilder silo, SiloHostOptions host, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(silo);
        ArgumentNullException.ThrowIfNull(host);
        silo.UseLocalhostClustering(host.SiloPort, host.GatewayPort, serviceId: host.ServiceId, clusterId: host.ClusterId);
        // One silo, so grain state in its own memory: no storage grain between a grain and its state (docs/architecture.md).
        silo.AddLocalGrainStorage(GrantSiloStorage.Name);
        silo.UseInMemoryReminderService();
        silo.AddFileAuditStore(o => configuration.GetSection(FileAuditStoreOptions.SectionName).Bind(o));
        silo.UseGrantSiloTlsFromConfiguration(configuration, alwaysOn: false);
        // Grain calls carry the caller's trace, so one trace follows a request from the HTTP API through the grains.
        silo.AddActivityPropagation();
        // Grain state lives in this process only, signing keys among it: unless one is configured, the key that wraps
        // them is made at start and lives as long as they do.
        silo.Services.PostConfigure<GrantSilo.Grains.Keys.KeyRingOptions>(keys =>
        {
            if (keys.KeyEncryptionKey is null && keys.KeyEncryptionKeyFile is null)
            {
                keys.KeyEncryptionKey = Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32));
            }
        });
        return silo.AddGrantSiloFromConfiguration(configuration);
    }

    /// <summary>
    /// Azure Table Storage: membership, grain state and reminders on Microsoft's Orleans Azure providers
    /// (configured from <c>GrantSilo:Storage</c>), the distributed grain directory, and the membership silo lease that
    /// fences stale activations (see <c>docs/consistency.md</c>), and TLS always: mutual between silos, and on the
    /// client gateway, with the certificates of <c>GrantSilo:Tls</c> (start-up stops when they are missing).
    /// </summary>
    public static ISiloBuilder UseGrantSiloAzureTableProfile(this ISiloBuilder silo, SiloHostOptions host, IConfiguration configuration, Action<AzureTableGrantOptions>? configureStorage = null)
    {
        ArgumentNullException.ThrowIfNull(silo);
        ArgumentNullException.ThrowIfNull(host);
        ArgumentNullException.ThrowIfNull(configuration);
        silo.Configure<ClusterOptions>(o =>
        {
            o.ClusterId = host.ClusterId;
            o.ServiceId = host.ServiceId;
        });
        silo.ConfigureEndpoints(AdvertisedAddress(host), host.SiloPort, host.GatewayPort, host.ListenOnAnyHostAddress);
        silo.UseGrantSiloTlsFromConfiguration(configuration, alwaysOn: true);
        // Grain calls carry the caller's trace, so one trace follows a request from the HTTP API through the grains.
        silo.AddActivityPropagation();
        // Silos prove their own calls to each other with a shared secret; one made at start would be this silo's alone.
        if (!ClusterCallOptions.IsConfigured(configuration))
        {
            throw new OptionsValidationException("GrantSilo:Cluster", typeof(SiloHostOptions),
                ["The multi-silo (AzureTable) profile needs GrantSilo:Cluster:CallKey, or GrantSilo:Cluster:CallKeyFile naming a file that holds it: the same secret on every silo (base64, at least 32 bytes: openssl rand -base64 32); see docs/identity.md."]);
        }
        // Signing keys are stored (wrapped) in the shared tables: a key made at start would be this silo's alone, and
        // without one no credential could be issued; so the silo refuses to start instead of starting closed.
        if (!KeyEncryptionKeyConfigured(configuration))
        {
            throw new OptionsValidationException(GrantSilo.Grains.Keys.KeyRingOptions.SectionName, typeof(GrantSilo.Grains.Keys.KeyRingOptions),
                [$"The multi-silo (AzureTable) profile needs a key-encryption key: set {GrantSilo.Grains.Keys.KeyRingOptions.SectionName}:KeyEncryptionKeyFile to a file holding it (or {GrantSilo.Grains.Keys.KeyRingOptions.SectionName}:KeyEncryptionKey), the same 32 random bytes in base64 on every silo (openssl rand -base64 32; scripts/dev-certs.sh makes a development one); see docs/keys.md."]);
        }
        silo.UseAzureTableWithoutEndpoints(configuration, configureStorage);
        return silo;
    }

    /// <summary>
    /// Everything of the AzureTable profile except where the silo listens (TestCluster assigns ports itself).
    /// </summary>
    public static ISiloBuilder UseAzureTableWithoutEndpoints(this ISiloBuilder silo, IConfiguration configuration, Action<AzureTableGrantOptions>? configureStorage = null)
    {
        ArgumentNullException.ThrowIfNull(silo);
        ArgumentNullException.ThrowIfNull(configuration);
        // Microsoft's Orleans providers: membership, reminders, and grain state as the default store and as GrantSilo's.
        silo.UseGrantSiloAzureTables(configuration.GetSection(AzureTableGrantConfiguration.SectionName), [GrantSiloStorage.Name], configureStorage);
        // The audit log in the same storage account (its own table; README of GrantSilo.Persistence.AzureTables).
        var auditStorage = new AzureTableGrantOptions();
        AzureTableGrantConfiguration.Bind(auditStorage, configuration.GetSection(AzureTableGrantConfiguration.SectionName));
        configureStorage?.Invoke(auditStorage);
        silo.AddAzureTableAuditStore(auditStorage, configuration.GetSection(AzureTableAuditOptions.SectionName));
        // The directory built to keep one activation per grain across membership changes (experimental in Orleans 10).
#pragma warning disable ORLEANSEXP003
        silo.AddDistributedGrainDirectory();
#pragma warning restore ORLEANSEXP003
        silo.Configure<ClusterMembershipOptions>(configuration.GetSection(MembershipSection));
        silo.Configure<ReminderOptions>(configuration.GetSection(RemindersSection));
        return silo.AddGrantSiloFromConfiguration(configuration);
    }

    // TLS from GrantSilo:Tls. Where the profile always uses it, an explicit Enabled=false is refused rather than
    // ignored, and missing certificates stop start-up with a message saying how to make or supply them.
    private static ISiloBuilder UseGrantSiloTlsFromConfiguration(this ISiloBuilder silo, IConfiguration configuration, bool alwaysOn)
    {
        var tls = new GrantSiloTlsOptions();
        configuration.GetSection(GrantSiloTlsOptions.SiloSectionName).Bind(tls);
        if (alwaysOn)
        {
            if (tls.Enabled == false)
            {
                throw new OptionsValidationException(GrantSiloTlsOptions.SiloSectionName, typeof(GrantSiloTlsOptions),
                    [$"The multi-silo (AzureTable) profile always uses TLS, mutual between silos; remove {GrantSiloTlsOptions.SiloSectionName}:Enabled=false and give the certificates (scripts/dev-certs.sh makes development ones; see docs/multi-silo.md)."]);
            }
            tls.Enabled = true;
        }
        if (tls.Enabled != true)
        {
            return silo;
        }
        // The certificates first: a missing one is the first thing to fix.
        silo.UseGrantSiloTls(tls);
        if (tls.AllowedPeerNames.Count == 0 && !tls.AllowAnyPeerName && !IsDevelopment(configuration))
        {
            // A CA is often shared with other services: with no names listed, any certificate it issued could join the
            // cluster as a silo and be handed grains.
            throw new OptionsValidationException(GrantSiloTlsOptions.SiloSectionName, typeof(GrantSiloTlsOptions),
                [$"{GrantSiloTlsOptions.SiloSectionName}:AllowedPeerNames is empty, so any certificate of the CA in {GrantSiloTlsOptions.SiloSectionName}:CaFile could join this cluster as a silo. " +
                $"List the names the silos' certificates carry ({GrantSiloTlsOptions.SiloSectionName}:AllowedPeerNames:0=...; the certificates of scripts/dev-certs.sh carry 'silo'), " +
                $"or set {GrantSiloTlsOptions.SiloSectionName}:AllowAnyPeerName=true if that CA issues certificates to this cluster's silos only; see docs/multi-silo.md."]);
        }
        return silo;
    }

    // The host's environment as its configuration holds it (unset: Production, as the host assumes).
    private static bool IsDevelopment(IConfiguration configuration) =>
        string.Equals(configuration[Microsoft.Extensions.Hosting.HostDefaults.EnvironmentKey], Microsoft.Extensions.Hosting.Environments.Development, StringComparison.OrdinalIgnoreCase);

    private static bool KeyEncryptionKeyConfigured(IConfiguration configuration)
    {
        var keys = configuration.GetSection(GrantSilo.Grains.Keys.KeyRingOptions.SectionName);
        return !string.IsNullOrWhiteSpace(keys[nameof(GrantSilo.Grains.Keys.KeyRingOptions.KeyEncryptionKey)])
            || !string.IsNullOrWhiteSpace(keys[nameof(GrantSilo.Grains.Keys.KeyRingOptions.KeyEncryptionKeyFile)]);
    }

    // GrantSilo's grains with their lifecycle and policy options bound from configuration. (Grain
    // state is stored with the Orleans serializer; AddGrantSilo registers it for every provider.)
    private static ISiloBuilder AddGrantSiloFromConfiguration(this ISiloBuilder silo, IConfiguration configuration)
    {
        silo.Services.AddOptions<SiloLeaseOptions>().Bind(configuration.GetSection(SiloLeaseOptions.SectionName));
        return silo.AddGrantSilo(
            options => configuration.GetSection(GrantSiloOptions.SectionName).Bind(options),
            policy => configuration.GetSection(GrantSiloPolicyOptions.SectionName).Bind(policy));
    }

    private static IPAddress AdvertisedAddress(SiloHostOptions host)
    {
        if (!string.IsNullOrWhiteSpace(host.AdvertisedIPAddress))
        {
            return IPAddress.Parse(host.AdvertisedIPAddress);
        }
        if (host.AdvertiseHostNameAddress)
        {
            var name = Dns.GetHostName();
            return Dns.GetHostAddresses(name).FirstOrDefault(a => a.AddressFamily == AddressFamily.InterNetwork && !IPAddress.IsLoopback(a))
                ?? throw new OptionsValidationException(SiloHostOptions.SectionName, typeof(SiloHostOptions),
                    [$"{SiloHostOptions.SectionName}:{nameof(SiloHostOptions.AdvertiseHostNameAddress)} is set, but host name '{name}' resolves to no non-loopback IPv4 address; set {SiloHostOptions.SectionName}:{nameof(SiloHostOptions.AdvertisedIPAddress)} instead."]);
        }
        return IPAddress.Loopback;
    }
}
