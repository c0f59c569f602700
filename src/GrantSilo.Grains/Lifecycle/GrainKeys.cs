using System.Buffers.Text;
using GrantSilo.Grains.Indexes;

namespace GrantSilo.Grains.Lifecycle;

/// <summary>
/// The shape of every lifecycle grain's key, in one place, checked on the silo as the SDK checks ids before it
/// names a grain: a grain can be addressed by any string (through a raw Orleans client, say), and one whose key
/// could never have been issued refuses everything, writing nothing.
/// </summary>
internal static class GrainKeys
{
    /// <summary>
    /// Null when <paramref name="key"/> is a well-formed key for a grain of <paramref name="kind"/>; otherwise an
    /// <see cref="GrantErrorCode.InvalidIdentifier"/> error whose target is the key as it may be shown
    /// (<see cref="Untrusted.Id"/>: never a token's secret part).
    /// <list type="bullet">
    /// <item>agent: a workload id (<see cref="WorkloadId"/>), already canonical;</item>
    /// <item>task, session, approval: 1 to 128 letters, digits, '-', '_', '.' or ':' (<see cref="IndexedIds.IsCompact"/>),
    /// as GrantSilo and the SDK choose them and as indexes keep them;</item>
    /// <item>credential: a token's credential id, 16 bytes in canonical unpadded base64url;</item>
    /// <item>anything else: a canonical identifier that is not a token.</item>
    /// </list>
    /// </summary>
    public static GrantError? Check(string kind, string key) =>
        CheckShape(kind, key) is { } error ? error with { Target = Untrusted.Id(key) } : null;

    private static GrantError? CheckShape(string kind, string key) => kind switch
    {
        "agent" => CheckAgent(key),
        "task" => IndexedIds.IsCompact(key) ? null : Invalid($"A task id is 1 to {IndexedIds.MaxLength} letters, digits, '-', '_', '.' or ':' (as the SDK's are)."),
        "session" => IndexedIds.IsCompact(key) ? null : Invalid($"A session id is 1 to {IndexedIds.MaxLength} letters, digits, '-', '_', '.' or ':' (as GrantSilo chooses them)."),
        "approval" => IndexedIds.IsCompact(key) ? null : Invalid($"An approval id is 1 to {IndexedIds.MaxLength} letters, digits, '-', '_', '.' or ':' (as GrantSilo chooses them)."),
        "credential" => IsCredentialId(key) ? null : Invalid("A credential id is the 22 characters between a token's dots (16 bytes in base64url)."),
        _ => CheckIdentifier(key, kind),
    };

    private static GrantError? CheckAgent(string key)
    {
        var id = WorkloadId.Validate(key);
        if (!id.IsSuccess)
        {
            return id.Error;
        }
        return id.Value == key ? null : Invalid("An agent workload id must be in canonical form (Unicode NFC).");
    }

    private static GrantError? CheckIdentifier(string key, string kind)
    {
        var id = Canonical.Identifier(key, $"A {kind} id");
        if (!id.IsSuccess)
        {
            return id.Error;
        }
        return id.Value == key ? null : Invalid($"A {kind} id must be in canonical form (Unicode NFC).");
    }

    // As CredentialToken.TryParse reads a token's id: the right length and alphabet, and the one canonical spelling.
    private static bool IsCredentialId(string key)
    {
        if (!CredentialToken.IsCredentialId(key))
        {
            return false;
        }
        Span<byte> bytes = stackalloc byte[16];
        Span<char> again = stackalloc char[key.Length];
        return Base64Url.DecodeFromChars(key, bytes, out _, out var written) == System.Buffers.OperationStatus.Done
            && Base64Url.EncodeToChars(bytes[..written], again) == key.Length
            && again.SequenceEqual(key);
    }

    private static GrantError Invalid(string message) => new(GrantErrorCode.InvalidIdentifier, message);
}

/// <summary>A grain that knows whether its own key is well formed (<see cref="GrainKeys"/>).</summary>
internal interface IKeyedGrain
{
    /// <summary>Null when the grain's key is well formed; the refusal otherwise.</summary>
    GrantError? KeyError { get; }
}
