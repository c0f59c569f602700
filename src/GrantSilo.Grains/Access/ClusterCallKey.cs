using System.Security.Cryptography;
using GrantSilo.Grains.Keys;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace GrantSilo.Grains.Access;

/// <summary>Options of the mark silos put on their own calls (<c>GrantSilo:Cluster</c>).</summary>
public sealed class ClusterCallOptions
{
    public const string SectionName = "GrantSilo:Cluster";

    /// <summary>
    /// A secret every silo of the cluster shares (base64, at least 32 bytes), with which silos mark their own
    /// calls so a cluster client can never pass for one. A single silo may leave it empty: it then makes its
    /// own at start. Silos of one cluster must be given the same key. The key itself never travels: each
    /// call carries a mark derived from it and bound to the call's target.
    /// </summary>
    public string? CallKey { get; set; }

    /// <summary>
    /// A file that holds <see cref="CallKey"/> (base64; surrounding whitespace ignored), for a secret mounted as a file
    /// rather than passed in the environment, where anyone who can inspect the process or its container reads it.
    /// Give this or <see cref="CallKey"/>, not both.
    /// </summary>
    public string? CallKeyFile { get; set; }

    /// <summary>Whether a key is configured, in either form (a multi-silo cluster needs one).</summary>
    public static bool IsConfigured(Microsoft.Extensions.Configuration.IConfiguration configuration) =>
        !string.IsNullOrWhiteSpace(configuration[$"{SectionName}:{nameof(CallKey)}"])
        || !string.IsNullOrWhiteSpace(configuration[$"{SectionName}:{nameof(CallKeyFile)}"]);
}

/// <summary>
/// The mark on calls made inside the cluster. The Orleans gateway forwards whatever a client sends, the
/// caller's grain id included, so a call's origin is proved by a secret the silos share instead: every call
/// a silo makes carries HMAC-SHA256(key, target grain id) (<see cref="InternalCallMarker"/>), and the door
/// (<see cref="CallerGate"/>) recomputes it for the call's own target. A mark is worth nothing for any other
/// target, so one seen by whoever receives it (an observer on a client) opens nothing else.
/// </summary>
internal sealed partial class ClusterCallKey : IDisposable
{
    public const string Header = "grantsilo.internal";

    /// <summary>
    /// The mark on a call another door of the silo makes for its outside caller after limiting that caller's rate itself
    /// (the HTTP API): the gateway's per-caller limit (<see cref="CallerRates"/>) is not applied to it again.
    /// </summary>
    public const string LimitedDoorHeader = "grantsilo.limited-door";
    private const int MarkLength = 32;

    /// <summary>
    /// For the HTTP benchmark that measures what the limited-door mark costs, and nothing else: while set, the HTTP API's
    /// in-silo calls carry no limited-door mark and the door exempts every caller from its rate without looking for one.
    /// Internal, never a setting (only the benchmark sees it).
    /// </summary>
    internal static volatile bool LimitedDoorOmittedForMeasurement;

    private readonly byte[] _key;
    private readonly HmacKey _mac;
    // A key of its own (derived from the shared one), so a limited-door mark is never an internal call's mark, nor the reverse.
    private readonly HmacKey _limitedDoorMac;

    public ClusterCallKey(IOptions<ClusterCallOptions> options, ILogger<ClusterCallKey> logger)
    {
        _key = Configured(options.Value, logger);
        _mac = new HmacKey(_key);
        _limitedDoorMac = new HmacKey(HMACSHA256.HashData(_key, "grantsilo limited door v1"u8));
    }

    // The key's text as configured (given, read from its file, or null for neither) and what to call it in a message.
    private static (string? Text, string Name) Read(ClusterCallOptions options)
    {
        var given = !string.IsNullOrWhiteSpace(options.CallKey);
        var file = string.IsNullOrWhiteSpace(options.CallKeyFile) ? null : options.CallKeyFile;
        if (given && file is not null)
        {
            throw Invalid($"Give {ClusterCallOptions.SectionName}:CallKey or {ClusterCallOptions.SectionName}:CallKeyFile, not both.");
        }
        if (file is null)
        {
            return (given ? options.CallKey : null, $"{ClusterCallOptions.SectionName}:CallKey");
        }
        string text;
        try
        {
            text = File.ReadAllText(file);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // The reason (not found, not readable) without the file's content, which never reaches a message.
            throw Invalid($"{ClusterCallOptions.SectionName}:CallKeyFile names '{file}', which cannot be read ({e.GetType().Name}).");
        }
        if (string.IsNullOrWhiteSpace(text))
        {
            throw Invalid($"{ClusterCallOptions.SectionName}:CallKeyFile names '{file}', which is empty.");
        }
        return (text.Trim(), $"the call key in {ClusterCallOptions.SectionName}:CallKeyFile ('{file}')");
    }

    private static OptionsValidationException Invalid(string message) =>
        new(ClusterCallOptions.SectionName, typeof(ClusterCallOptions), [message]);

    private static byte[] Configured(ClusterCallOptions options, ILogger logger)
    {
        var (configured, name) = Read(options);
        if (string.IsNullOrWhiteSpace(configured))
        {
            LogOwnKey(logger);
            return RandomNumberGenerator.GetBytes(32);
        }
        byte[] key;
        try
        {
            key = Convert.FromBase64String(configured);
        }
        catch (FormatException)
        {
            throw Invalid($"{name} must be base64 (for example: openssl rand -base64 32).");
        }
        if (key.Length < 32)
        {
            throw Invalid($"{name} must hold at least 32 bytes; it holds {key.Length}.");
        }
        return key;
    }

    /// <summary>
    /// The key DPoP nonces are made with (<see cref="GrantSilo.Identity.Tokens.DpopProofVerifier.DeriveNonceKey"/>): derived
    /// from the key every silo shares, so a nonce one silo offers is accepted by every other.
    /// </summary>
    public byte[] DpopNonceKey() => GrantSilo.Identity.Tokens.DpopProofVerifier.DeriveNonceKey(_key);

    /// <summary>The mark for a call to <paramref name="target"/>.</summary>
    public byte[] Mark(GrainIdBytes target)
    {
        var mark = new byte[MarkLength];
        Compute(target, mark);
        return mark;
    }

    /// <summary>Whether a call to <paramref name="target"/> carries its mark (constant-time).</summary>
    public bool Matches(object? carried, GrainIdBytes target)
    {
        if (carried is not byte[] { Length: MarkLength } mark)
        {
            return false;
        }
        Span<byte> expected = stackalloc byte[MarkLength];
        Compute(target, expected);
        return CryptographicOperations.FixedTimeEquals(mark, expected);
    }

    /// <summary>The limited-door mark (<see cref="LimitedDoorHeader"/>) for a call to <paramref name="target"/> (a fresh array).</summary>
    public byte[] LimitedDoorMark(GrainId target) => KeptLimitedDoorMark(target, keep: true).AsSpan().ToArray();

    /// <summary>Whether a call to <paramref name="target"/> carries its limited-door mark (constant-time).</summary>
    public bool MatchesLimitedDoor(object? carried, GrainId target) =>
        carried is byte[] { Length: MarkLength } mark
        && CryptographicOperations.FixedTimeEquals(mark, KeptLimitedDoorMark(target, keep: false));

    // The limited-door marks this silo made lately, by target: the HTTP API marks a call and the door checks it in the same
    // process a moment later, and a gateway asks about the same credentials again and again, so each HMAC is computed once,
    // not twice per request. Only the marking side adds to the table (a client, who can send any 32 bytes for any target,
    // never does); it holds at most LimitedDoorMarksKept marks and starts afresh when full. Its arrays never leave it.
    private readonly System.Collections.Concurrent.ConcurrentDictionary<GrainId, byte[]> _limitedDoorMarks = new();
    private int _limitedDoorMarksCount;
    internal const int LimitedDoorMarksKept = 4096;

    /// <summary>How many limited-door marks are kept now (for tests: never more than <see cref="LimitedDoorMarksKept"/>).</summary>
    internal int KeptLimitedDoorMarks => _limitedDoorMarks.Count;

    private byte[] KeptLimitedDoorMark(GrainId target, bool keep)
    {
        if (_limitedDoorMarks.TryGetValue(target, out var kept))
        {
            return kept;
        }
        var mark = new byte[MarkLength];
        Compute(_limitedDoorMac, new GrainIdBytes(target), mark);
        if (keep && _limitedDoorMarks.TryAdd(target, mark) && Interlocked.Increment(ref _limitedDoorMarksCount) > LimitedDoorMarksKept)
        {
            Interlocked.Exchange(ref _limitedDoorMarksCount, 0);
            _limitedDoorMarks.Clear();
        }
        return mark;
    }

    private void Compute(GrainIdBytes target, Span<byte> destination) => Compute(_mac, target, destination);

    private static void Compute(HmacKey mac, GrainIdBytes target, Span<byte> destination)
    {
        var type = target.Type;
        var key = target.Key;
        var length = type.Length + 1 + key.Length;
        var buffer = length <= 512 ? stackalloc byte[length] : new byte[length];
        type.CopyTo(buffer);
        buffer[type.Length] = 0;
        key.CopyTo(buffer[(type.Length + 1)..]);
        mac.Compute(buffer, destination);
    }

    public void Dispose()
    {
        _mac.Dispose();
        _limitedDoorMac.Dispose();
    }

    [LoggerMessage(EventId = 4105, Level = LogLevel.Information, Message = "No GrantSilo:Cluster:CallKey is configured: this silo made its own, so it can only run alone (silos of one cluster need the same key).")]
    private static partial void LogOwnKey(ILogger logger);
}

/// <summary>
/// Marks every call a silo makes (bound to its target), and never passes an outside caller's token on; except the
/// calls made for an outside caller by a door in this process (<see cref="OutsideCalls"/>), which go unmarked.
/// </summary>
internal sealed class InternalCallMarker(ClusterCallKey key) : IOutgoingGrainCallFilter
{
    public Task Invoke(IOutgoingGrainCallContext context)
    {
        // A request served for an outside caller by a door in this process (the HTTP API), and not from a grain
        // turn: unmarked, with the caller's own token, so the door judges it as it judges a cluster client's call.
        // A call a grain makes always has a source context and is marked below, whoever the request came from.
        if (context.SourceContext is null && OutsideCalls.IsActive)
        {
            if (ClusterCallKey.LimitedDoorOmittedForMeasurement && RequestContext.Get(ClusterCallKey.Header) is null)
            {
                // The benchmark's baseline: the call as it went before it carried the mark (nothing to change, no frame).
                return context.Invoke();
            }
            return InvokeUnmarkedAsync(context);
        }
        return InvokeMarkedAsync(context);
    }

    // Async, so the request-context changes apply to this call only, not to the rest of the calling turn. The door in
    // this process limited its caller's rate already (the HTTP API's per-caller limit): the call says so with a mark bound
    // to its target, which only a silo can make, so the gateway's own limit is not applied to it twice.
    private async Task InvokeUnmarkedAsync(IOutgoingGrainCallContext context)
    {
        RequestContext.Remove(ClusterCallKey.Header);
        RequestContext.Set(ClusterCallKey.LimitedDoorHeader, key.LimitedDoorMark(context.TargetId));
        await context.Invoke();
    }

    private async Task InvokeMarkedAsync(IOutgoingGrainCallContext context)
    {
        RequestContext.Set(ClusterCallKey.Header, key.Mark(new(context.TargetId)));
        // The outside caller's proof was checked at the door; neither the token nor its reference (which a silo that
        // verified the token takes in its place) is passed on inside, nor to observers: a subscriber that read an
        // approver's reference off a notification could otherwise act as that approver.
        RequestContext.Remove(CallerHeaders.Token);
        RequestContext.Remove(CallerHeaders.TokenReference);
        RequestContext.Remove(ClusterCallKey.LimitedDoorHeader);
        await context.Invoke();
    }
}

/// <summary>A grain id as the bytes a mark is bound to: its type and its key.</summary>
internal readonly ref struct GrainIdBytes(GrainId id)
{
    public ReadOnlySpan<byte> Type { get; } = id.Type.AsSpan();

    public ReadOnlySpan<byte> Key { get; } = id.Key.AsSpan();
}
