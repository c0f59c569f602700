using System.ComponentModel.DataAnnotations;

namespace GrantSilo.SiloHost;

/// <summary>Where the silo listens and which cluster it joins. Bound from <c>GrantSilo:Silo</c>.</summary>
public sealed class SiloHostOptions
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
}

/// <summary>Which storage backend the silo uses. Bound from <c>GrantSilo:Storage</c>.</summary>
public sealed class StorageSelectionOptions
{
    public const string SectionName = "GrantSilo:Storage";

    /// <summary><c>Embedded</c> (default: localhost clustering, in-memory state and reminders).</summary>
    public string Provider { get; set; } = "Embedded";
}
