using System.Net;
using System.Net.Sockets;
using GrantSilo.Grains.Decisions;
using GrantSilo.Grains.Hosting;
using GrantSilo.Grains.Policies;
using GrantSilo.Persistence.AzureTables;
using GrantSilo.SiloHost.Fencing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Orleans.Configuration;

namespace GrantSilo.SiloHost.Hosting;

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
    /// The embedded default: one silo on localhost, in-memory grain storage and reminders.
    /// </summary>
    public static ISiloBuilder UseGrantSiloEmbeddedProfile(this ISiloBuilder silo, SiloHostOptions host, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(silo);
        ArgumentNullException.ThrowIfNull(host);
        silo.UseLocalhostClustering(host.SiloPort, host.GatewayPort, serviceId: host.ServiceId, clusterId: host.ClusterId);
        silo.AddMemoryGrainStorage(GrantSiloStorage.Name);
        silo.UseInMemoryReminderService();
        return silo.AddGrantSiloFromConfiguration(configuration);
    }

    /// <summary>
    /// Azure Table Storage: membership, grain state and reminders on GrantSilo's providers (configured
    /// from <c>GrantSilo:Storage</c>), the distributed grain directory, and the membership silo lease that
    /// fences stale activations (see <c>docs/consistency.md</c>).
    /// </summary>
    public static ISiloBuilder UseGrantSiloAzureTableProfile(this ISiloBuilder silo, SiloHostOptions host, IConfiguration configuration)
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
        silo.UseAzureTableWithoutEndpoints(configuration);
        return silo;
    }

    /// <summary>
    /// Everything of the AzureTable profile except where the silo listens (TestCluster assigns ports itself).
    /// </summary>
    public static ISiloBuilder UseAzureTableWithoutEndpoints(this ISiloBuilder silo, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(silo);
        ArgumentNullException.ThrowIfNull(configuration);
        var storage = configuration.GetSection(AzureTableGrantConfiguration.SectionName);
        silo.UseAzureTableGrantClustering(storage)
            .AddAzureTableGrantStorage(GrantSiloStorage.Name, storage)
            .UseAzureTableGrantReminders(storage);
        // The directory built to keep one activation per grain across membership changes (experimental in Orleans 10).
#pragma warning disable ORLEANSEXP003
        silo.AddDistributedGrainDirectory();
#pragma warning restore ORLEANSEXP003
        silo.Configure<ClusterMembershipOptions>(configuration.GetSection(MembershipSection));
        silo.Configure<ReminderOptions>(configuration.GetSection(RemindersSection));
        silo.Services.AddOptions<SiloLeaseOptions>().Bind(configuration.GetSection(SiloLeaseOptions.SectionName));
        silo.AddMembershipSiloLease();
        return silo.AddGrantSiloFromConfiguration(configuration);
    }

    /// <summary>
    /// Replaces the single-silo lease with <see cref="MembershipSiloLease"/>, fences every GrantSilo grain
    /// with it, and raises the directory's range lease so its hold on a dead silo's grains outlasts the silo lease.
    /// </summary>
    public static ISiloBuilder AddMembershipSiloLease(this ISiloBuilder silo)
    {
        ArgumentNullException.ThrowIfNull(silo);
        silo.Services.AddSingleton<MembershipSiloLease>();
        // Registered last, so it wins over AddGrantSilo's TryAdd of the single-silo default.
        silo.Services.AddSingleton<ISiloLease>(sp => sp.GetRequiredService<MembershipSiloLease>());
        silo.Services.AddSingleton<ILifecycleParticipant<ISiloLifecycle>>(sp => sp.GetRequiredService<MembershipSiloLease>());
        silo.Services.AddSingleton<IPostConfigureOptions<GrainDirectoryOptions>, DirectoryHoldOutlastsLease>();
        silo.Services.AddSingleton<IValidateOptions<GrantSiloOptions>, DecisionLeaseFitsSiloLease>();
        silo.AddIncomingGrainCallFilter<SiloLeaseCallFilter>();
        return silo;
    }

    // GrantSilo's grains with their lifecycle and policy options bound from configuration. (Grain
    // state is stored with the Orleans serializer; AddGrantSilo registers it for every provider.)
    private static ISiloBuilder AddGrantSiloFromConfiguration(this ISiloBuilder silo, IConfiguration configuration) =>
        silo.AddGrantSilo(
            options => configuration.GetSection(GrantSiloOptions.SectionName).Bind(options),
            policy => configuration.GetSection(GrantSiloPolicyOptions.SectionName).Bind(policy));

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

    // A stale activation's last decision lease was granted before its silo lease lapsed (death + L); the
    // new activation registers after the directory's hold (death + 1.5 L) and outwaits one decision lease
    // from then. The half silo lease between them must absorb how far two monotonic clocks can drift
    // apart over a decision lease (2 x rate difference x lease), so the decision lease may not be longer
    // than L / (4 x rate difference), 25 L at the assumed 1%.
    private sealed class DecisionLeaseFitsSiloLease(IOptions<ClusterMembershipOptions> membership, IOptions<SiloLeaseOptions> lease) : IValidateOptions<GrantSiloOptions>
    {
        public ValidateOptionsResult Validate(string? name, GrantSiloOptions options)
        {
            var timing = SiloLeaseTiming.From(membership.Value, lease.Value);
            var longest = timing.MaxDecisionLeaseDuration;
            return options.DecisionLeaseDuration <= longest
                ? ValidateOptionsResult.Success
                : ValidateOptionsResult.Fail(
                    $"{GrantSiloOptions.SectionName}:{nameof(GrantSiloOptions.DecisionLeaseDuration)} ({options.DecisionLeaseDuration}) is longer than the silo lease allows ({longest} = " +
                    $"{SiloLeaseOptions.SectionName}:Duration {timing.Duration} / (4 x {GrantSiloOptions.MaxClockRateDifference:P0} clock-rate difference)). Shorten the decision lease, or lengthen the silo lease " +
                    $"through {SiloLeaseOptions.SectionName}:Duration or {MembershipSection}:MinProbeTimeout and {MembershipSection}:NumMissedProbesLimit.");
        }
    }

    private sealed class DirectoryHoldOutlastsLease(IOptions<ClusterMembershipOptions> membership, IOptions<SiloLeaseOptions> lease) : IPostConfigureOptions<GrainDirectoryOptions>
    {
        public void PostConfigure(string? name, GrainDirectoryOptions options)
        {
            var required = SiloLeaseTiming.From(membership.Value, lease.Value).RequiredRangeLeaseDuration;
            if (options.RangeLeaseDuration < required)
            {
                options.RangeLeaseDuration = required;
            }
        }
    }
}
