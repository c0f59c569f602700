using System.ComponentModel.DataAnnotations;
using System.Net;

namespace GrantSilo.Hosting;

/// <summary>Where the silo listens and which cluster it joins. Bound from <c>GrantSilo:Silo</c>.</summary>
public sealed class SiloHostOptions : IValidatableObject
{
    public const string SectionName = "GrantSilo:Silo";

    /// <summary>The silo-to-silo port.</summary>
    [Range(1, 65535, ErrorMessage = "GrantSilo:Silo:SiloPort must be a TCP port between 1 and 65535.")]
    public int SiloPort { get; set; } = 11111;

    /// <summary>The port clients connect to.</summary>
    [Range(1, 65535, ErrorMessage = "GrantSilo:Silo:GatewayPort must be a TCP port between 1 and 65535.")]
    public int GatewayPort { get; set; } = 30000;

    [Required(ErrorMessage = "GrantSilo:Silo:ClusterId is required (for example 'grantsilo').")]
    public string ClusterId { get; set; } = "grantsilo";

    [Required(ErrorMessage = "GrantSilo:Silo:ServiceId is required (for example 'grantsilo').")]
    public string ServiceId { get; set; } = "grantsilo";

    /// <summary>
    /// The IP address other silos and clients reach this silo on (AzureTable profile; default 127.0.0.1).
    /// Every silo of a cluster must advertise a distinct address and port pair.
    /// </summary>
    public string? AdvertisedIPAddress { get; set; }

    /// <summary>
    /// Advertise the first IPv4 address this machine's host name resolves to (in a container: the
    /// container's own address). Use it instead of <see cref="AdvertisedIPAddress"/> when replicas
    /// are identical, as with <c>docker compose up --scale silo=3</c>.
    /// </summary>
    public bool AdvertiseHostNameAddress { get; set; }

    /// <summary>Listen on every interface (0.0.0.0) rather than only the advertised address; needed in containers.</summary>
    public bool ListenOnAnyHostAddress { get; set; }

    /// <inheritdoc />
    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (!string.IsNullOrWhiteSpace(AdvertisedIPAddress) && !IPAddress.TryParse(AdvertisedIPAddress, out _))
        {
            yield return new ValidationResult($"{SectionName}:{nameof(AdvertisedIPAddress)} '{AdvertisedIPAddress}' is not an IP address; use for example 127.0.0.1, or set {SectionName}:{nameof(AdvertiseHostNameAddress)}=true to advertise this machine's own address.", [nameof(AdvertisedIPAddress)]);
        }
        if (!string.IsNullOrWhiteSpace(AdvertisedIPAddress) && AdvertiseHostNameAddress)
        {
            yield return new ValidationResult($"Set either {SectionName}:{nameof(AdvertisedIPAddress)} or {SectionName}:{nameof(AdvertiseHostNameAddress)}, not both.", [nameof(AdvertisedIPAddress)]);
        }
        if (SiloPort == GatewayPort)
        {
            yield return new ValidationResult($"{SectionName}:{nameof(SiloPort)} and {nameof(GatewayPort)} are both {SiloPort}; give them different ports.", [nameof(SiloPort)]);
        }
    }
}

/// <summary>Which storage backend the silo uses. Bound from <c>GrantSilo:Storage</c>.</summary>
public sealed class StorageSelectionOptions
{
    public const string SectionName = "GrantSilo:Storage";

    /// <summary>The embedded default: one silo on localhost, in-memory state and reminders.</summary>
    public const string Embedded = "Embedded";

    /// <summary>Azure Table Storage (or Azurite): membership, grain state and reminders; any number of silos.</summary>
    public const string AzureTable = "AzureTable";

    /// <summary><c>Embedded</c> (default) or <c>AzureTable</c>.</summary>
    public string Provider { get; set; } = Embedded;
}
