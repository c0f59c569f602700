using GrantSilo.Testing;
using GrantSilo.Testing.Tls;

namespace GrantSilo.EndToEnd.Tests.Support;

/// <summary>
/// The settings <c>docs/multi-silo.md</c> gives for running several silos and a client on one machine
/// against one storage account, as environment variables. The real-process tests use exactly these;
/// only the ports (chosen free at run time), the Azurite connection string and the certificate files (made once
/// per test run by <see cref="TestCertificates"/>, with the names <c>scripts/dev-certs.sh</c> gives them) differ from
/// the page, and <c>Docs_GiveExactlyTheSettingsTheProcessTestsUse</c> checks the page against this class.
/// </summary>
internal static class MultiSiloSettings
{
    public const string ClusterId = "grantsilo";
    public const string ServiceId = "grantsilo";

    /// <summary>Settings every process (silo and client) shares.</summary>
    public static IReadOnlyDictionary<string, string> Shared(string connectionString) => new Dictionary<string, string>
    {
        ["GrantSilo__Storage__Provider"] = "AzureTable",
        ["GrantSilo__Storage__ConnectionString"] = connectionString,
        ["GrantSilo__Storage__AllowDevelopmentStorage"] = "true",
    };

    /// <summary>Settings of silo number <c>n</c>, listening on <paramref name="siloPort"/> and <paramref name="gatewayPort"/>.</summary>
    public static IReadOnlyDictionary<string, string> Silo(string connectionString, int siloPort, int gatewayPort)
    {
        var settings = new Dictionary<string, string>(Shared(connectionString))
        {
            ["GrantSilo__Silo__ClusterId"] = ClusterId,
            ["GrantSilo__Silo__ServiceId"] = ServiceId,
            ["GrantSilo__Silo__AdvertisedIPAddress"] = "127.0.0.1",
            ["GrantSilo__Silo__SiloPort"] = siloPort.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["GrantSilo__Silo__GatewayPort"] = gatewayPort.ToString(System.Globalization.CultureInfo.InvariantCulture),
            // A killed or paused silo is declared dead within seconds instead of about a minute.
            ["GrantSilo__Membership__ProbeTimeout"] = "00:00:02",
            ["GrantSilo__Membership__NumMissedProbesLimit"] = "2",
            ["GrantSilo__Reminders__RefreshReminderListPeriod"] = "00:00:05",
            // TLS, mutual between silos (always on in this profile).
            ["GrantSilo__Tls__CertificateFile"] = TestCertificates.Shared.SiloCertificate,
            ["GrantSilo__Tls__KeyFile"] = TestCertificates.Shared.SiloKey,
            ["GrantSilo__Tls__CaFile"] = TestCertificates.Shared.Ca,
            // Only certificates naming a silo join the cluster (the silo certificates carry "silo"; required outside Development).
            ["GrantSilo__Tls__AllowedPeerNames__0"] = "silo",
            // The audit log's keys, the same on every silo: one hash key for the whole shared audit table (a silo with another is refused).
            ["GrantSilo__Audit__SigningKeyFile"] = TestCertificates.Shared.AuditSigningKey,
            ["GrantSilo__Audit__HashKeyFile"] = TestCertificates.Shared.AuditHashKey,
            // Who may call: the call key every silo shares, and the issuers of the workload's callers (the tests add more).
            ["GrantSilo__Cluster__CallKey"] = TestIdentity.Shared.ClusterCallKey,
            ["GrantSilo__Identity__Issuers__0__Name"] = "services",
            ["GrantSilo__Identity__Issuers__0__Kind"] = "Oidc",
            ["GrantSilo__Identity__Issuers__0__Issuer"] = TestIdentity.ServiceIssuer,
            ["GrantSilo__Identity__Issuers__0__CallerKind"] = "Service",
            ["GrantSilo__Identity__Issuers__0__JwksFile"] = TestIdentity.Shared.JwksFile,
            ["GrantSilo__Identity__Issuers__1__Name"] = "agents",
            ["GrantSilo__Identity__Issuers__1__Kind"] = "Spiffe",
            ["GrantSilo__Identity__Issuers__1__Issuer"] = $"{TestIdentity.SpiffeIssuer}/e2e.dev",
            ["GrantSilo__Identity__Issuers__1__TrustDomain"] = "e2e.dev",
            ["GrantSilo__Identity__Issuers__1__JwksFile"] = TestIdentity.Shared.JwksFile,
        };
        return settings;
    }

    /// <summary>Settings of a client that finds the silos in the membership table.</summary>
    public static IReadOnlyDictionary<string, string> Client(string connectionString)
    {
        var settings = new Dictionary<string, string>(Shared(connectionString))
        {
            ["GrantSilo__Client__ClusterId"] = ClusterId,
            ["GrantSilo__Client__ServiceId"] = ServiceId,
            ["GrantSilo__Client__ResponseTimeout"] = "00:00:10",
            ["GrantSilo__Client__GatewayListRefreshPeriod"] = "00:00:02",
            // TLS to the gateways: the silos' CA, and a client certificate (optional; the gateways check it when presented).
            ["GrantSilo__Client__Tls__CaFile"] = TestCertificates.Shared.Ca,
            ["GrantSilo__Client__Tls__CertificateFile"] = TestCertificates.Shared.ClientCertificate,
            ["GrantSilo__Client__Tls__KeyFile"] = TestCertificates.Shared.ClientKey,
        };
        return settings;
    }

    /// <summary>The same settings as configuration keys (<c>GrantSilo:Storage:Provider</c>), for in-process hosts.</summary>
    public static Dictionary<string, string?> AsConfiguration(IReadOnlyDictionary<string, string> environment) =>
        environment.ToDictionary(p => p.Key.Replace("__", ":", StringComparison.Ordinal), p => (string?)p.Value);
}
