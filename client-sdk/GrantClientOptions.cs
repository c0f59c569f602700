using System.ComponentModel.DataAnnotations;
using GrantSilo.Tls;

namespace GrantSilo.Client;

/// <summary>How a GrantSilo client finds the cluster. Bound from <c>GrantSilo:Client</c>.</summary>
public sealed class GrantClientOptions
{
    /// <summary>The configuration section.</summary>
    public const string SectionName = "GrantSilo:Client";

    /// <summary>The gateway port of a silo on this machine (the embedded default).</summary>
    [Range(1, 65535)]
    public int GatewayPort { get; set; } = 30000;

    /// <summary>The Orleans cluster id.</summary>
    [Required]
    public string ClusterId { get; set; } = "grantsilo";

    /// <summary>The Orleans service id.</summary>
    [Required]
    public string ServiceId { get; set; } = "grantsilo";

    /// <summary>
    /// Fixed gateways as <c>host:port</c> (for example <c>127.0.0.1:30001</c>). When set, the client uses
    /// exactly these; when empty, the client connects to a silo on this machine, or finds the gateways
    /// the way its host configured (the Azure Table membership table: <c>AddGrantSiloAzureTableClient</c>). A gateway
    /// beyond loopback needs <see cref="Tls"/> on: every call carries its caller's token, which never goes in the clear.
    /// </summary>
    public List<string> Gateways { get; set; } = [];

    /// <summary>
    /// How often a client that finds its gateways in the membership table reads the list again (<c>GrantSilo:Client:GatewayListRefreshPeriod</c>;
    /// Orleans' default, one minute, when unset). Shorter means a client stops trying a dead silo's gateway sooner.
    /// </summary>
    public TimeSpan? GatewayListRefreshPeriod { get; set; }

    /// <summary>How long the client waits for any one call before failing it (Orleans' default when unset).</summary>
    public TimeSpan? ResponseTimeout { get; set; }

    /// <summary>
    /// TLS to the gateways (<c>GrantSilo:Client:Tls</c>): the silo's certificate must chain to <c>CaFile</c>; the client
    /// presents a certificate of its own when one is given. Off unless enabled, except with
    /// <c>AddGrantSiloAzureTableClient</c>, whose silos (the multi-silo profile) always use TLS.
    /// </summary>
    public GrantSiloTlsOptions Tls { get; set; } = new();
}
