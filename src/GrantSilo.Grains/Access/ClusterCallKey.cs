using System.Security.Cryptography;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace GrantSilo.Grains.Access;

/// <summary>Options of the mark silos put on their own calls (<c>GrantSilo:Cluster</c>).</summary>
public sealed class ClusterCallOptions
{
    public const string SectionName = "GrantSilo:Cluster";

    /// <summary>
    /// A secret every silo of the cluster shares (base64, at least 32 bytes), marking calls between silos
    /// so a cluster client can never pass for one. A single silo may leave it empty: it then makes its own
    /// at start. Silos of one cluster must be given the same key; it never leaves the cluster's own links.
    /// </summary>
    public string? CallKey { get; set; }
}

/// <summary>
/// The mark on calls made inside the cluster. The Orleans gateway forwards whatever a client sends, the
/// caller's grain id included, so a call's origin is proved by this shared secret instead: silos put it
/// on every call they make to a grain (<see cref="InternalCallMarker"/>) and never on a call to a client.
/// </summary>
internal sealed class ClusterCallKey
{
    public const string Header = "grantsilo.internal";
    private readonly string _value;

    public ClusterCallKey(IOptions<ClusterCallOptions> options, ILogger<ClusterCallKey> logger)
    {
        var configured = options.Value.CallKey;
        if (string.IsNullOrWhiteSpace(configured))
        {
            _value = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));
            logger.LogInformation("No GrantSilo:Cluster:CallKey is configured: this silo made its own, so it can only run alone (silos of one cluster need the same key).");
            return;
        }
        byte[] bytes;
        try
        {
            bytes = Convert.FromBase64String(configured);
        }
        catch (FormatException)
        {
            throw new OptionsValidationException(ClusterCallOptions.SectionName, typeof(ClusterCallOptions), ["GrantSilo:Cluster:CallKey must be base64 (for example: openssl rand -base64 32)."]);
        }
        if (bytes.Length < 32)
        {
            throw new OptionsValidationException(ClusterCallOptions.SectionName, typeof(ClusterCallOptions), [$"GrantSilo:Cluster:CallKey must hold at least 32 bytes; it holds {bytes.Length}."]);
        }
        _value = configured;
    }

    public string Value => _value;

    /// <summary>Constant-time comparison with what a call carries.</summary>
    public bool Matches(object? carried) =>
        carried is string text && text.Length == _value.Length &&
        CryptographicOperations.FixedTimeEquals(
            System.Runtime.InteropServices.MemoryMarshal.AsBytes(text.AsSpan()),
            System.Runtime.InteropServices.MemoryMarshal.AsBytes(_value.AsSpan()));
}

/// <summary>Marks every call a silo makes to a grain as internal, and strips caller material from calls that leave for a client.</summary>
internal sealed class InternalCallMarker(ClusterCallKey key) : IOutgoingGrainCallFilter
{
    // Async, so the request-context changes apply to this call only, not to the rest of the calling turn.
    public async Task Invoke(IOutgoingGrainCallContext context)
    {
        if (context.TargetId.IsClient())
        {
            RequestContext.Remove(ClusterCallKey.Header);
            RequestContext.Remove(CallerHeaders.Token);
        }
        else
        {
            RequestContext.Set(ClusterCallKey.Header, key.Value);
            // The outside caller's token has been checked at the door; it is not passed on inside.
            RequestContext.Remove(CallerHeaders.Token);
        }
        await context.Invoke();
    }
}
