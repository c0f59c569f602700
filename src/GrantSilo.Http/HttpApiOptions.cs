using System.ComponentModel.DataAnnotations;

namespace GrantSilo.Http;

/// <summary>The HTTP API co-hosted with the silo. Bound from <c>GrantSilo:Http</c>.</summary>
public sealed class HttpApiOptions : IValidatableObject
{
    public const string SectionName = "GrantSilo:Http";

    /// <summary>
    /// Whether the silo serves the HTTP API. Unset means the profile's default: on for the embedded default, off for the
    /// multi-silo (AzureTable) profile, where each silo needs its own port and a certificate.
    /// </summary>
    public bool? Enabled { get; set; }

    /// <summary>The TCP port the API listens on (default 8080).</summary>
    [Range(0, 65535, ErrorMessage = "GrantSilo:Http:Port must be a TCP port between 1 and 65535 (0 picks a free one).")]
    public int Port { get; set; } = 8080;

    /// <summary>
    /// Listen on every interface rather than on loopback only. Needs HTTPS: the silo's certificate from
    /// <c>GrantSilo:Tls</c> (TLS on there); plain HTTP is served on loopback only, and the silo refuses to start otherwise.
    /// </summary>
    public bool ListenOnAnyHostAddress { get; set; }

    /// <summary>The largest request body accepted, in bytes (default 1 MiB: a policy set's text fits).</summary>
    [Range(1024, 64L * 1024 * 1024, ErrorMessage = "GrantSilo:Http:MaxRequestBodyBytes must be between 1024 and 67108864.")]
    public long MaxRequestBodyBytes { get; set; } = 1024 * 1024;

    /// <summary>How long one request may take before it is answered 504 (default 30 s).</summary>
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Requests per second each caller may make on average (a token bucket per authenticated caller, per address otherwise; default 200).</summary>
    [Range(1, 1_000_000, ErrorMessage = "GrantSilo:Http:PermitsPerSecond must be between 1 and 1000000.")]
    public int PermitsPerSecond { get; set; } = 200;

    /// <summary>How many requests a caller may make at once above its average (the bucket's size; default 400).</summary>
    [Range(1, 1_000_000, ErrorMessage = "GrantSilo:Http:Burst must be between 1 and 1000000.")]
    public int Burst { get; set; } = 400;

    /// <summary>
    /// Requests per second one remote address may make on average, whoever it calls as (default 1000). It is checked
    /// before any token is verified, so a flood of made-up tokens from one address costs no more than this.
    /// </summary>
    [Range(1, 1_000_000, ErrorMessage = "GrantSilo:Http:AddressPermitsPerSecond must be between 1 and 1000000.")]
    public int AddressPermitsPerSecond { get; set; } = 1000;

    /// <summary>How many requests one address may make at once above its average (default 2000).</summary>
    [Range(1, 1_000_000, ErrorMessage = "GrantSilo:Http:AddressBurst must be between 1 and 1000000.")]
    public int AddressBurst { get; set; } = 2000;

    /// <summary>
    /// Live streams (<c>/v1/approvals/stream</c> and <c>/v1/audit/stream</c> together) one caller may have open on a silo
    /// at once (default 8); one more is answered 429 <c>too-many-streams</c>. Each holds a connection, and a
    /// subscription or a follow loop, for as long as the caller's token lives.
    /// </summary>
    [Range(1, 10_000, ErrorMessage = "GrantSilo:Http:MaxStreamsPerCaller must be between 1 and 10000.")]
    public int MaxStreamsPerCaller { get; set; } = 8;

    /// <summary>
    /// The AuthZEN policy decision point identifier published at <c>/.well-known/authzen-configuration</c> (an https URL
    /// without query or fragment, as callers reach this API). Unset: the scheme and host of each discovery request.
    /// </summary>
    public string? PolicyDecisionPoint { get; set; }

    /// <summary>
    /// How long browsers keep to HTTPS for this host after an HTTPS answer (<c>Strict-Transport-Security: max-age</c>;
    /// default 365 days; <c>00:00:00</c> sends no such header). Sent on every HTTPS answer of the API and the console,
    /// never over plain HTTP and never to a loopback host name in Development.
    /// </summary>
    public TimeSpan HstsMaxAge { get; set; } = TimeSpan.FromDays(365);

    /// <inheritdoc />
    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (RequestTimeout <= TimeSpan.Zero || RequestTimeout > TimeSpan.FromMinutes(10))
        {
            yield return new ValidationResult($"{SectionName}:{nameof(RequestTimeout)} must be between 00:00:00.001 and 00:10:00; it is {RequestTimeout}.", [nameof(RequestTimeout)]);
        }
        if (HstsMaxAge < TimeSpan.Zero || HstsMaxAge > TimeSpan.FromDays(731))
        {
            yield return new ValidationResult($"{SectionName}:{nameof(HstsMaxAge)} must be between 00:00:00 (no header) and 731.00:00:00; it is {HstsMaxAge}.", [nameof(HstsMaxAge)]);
        }
        if (PolicyDecisionPoint is { Length: > 0 } pdp
            && (!Uri.TryCreate(pdp, UriKind.Absolute, out var uri) || uri.Scheme != Uri.UriSchemeHttps || uri.Query.Length > 0 || uri.Fragment.Length > 0))
        {
            yield return new ValidationResult($"{SectionName}:{nameof(PolicyDecisionPoint)} must be an https URL without query or fragment (for example https://grantsilo.example.com).", [nameof(PolicyDecisionPoint)]);
        }
    }
}
