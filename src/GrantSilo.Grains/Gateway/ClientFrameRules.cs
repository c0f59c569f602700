using System.Buffers;
using System.Reflection;
using Orleans.CodeGeneration;
using Orleans.Serialization;

namespace GrantSilo.Grains.Gateway;

/// <summary>
/// What a client connection may say about itself in a message header. Orleans' gateway forwards a client's message as
/// the client wrote it, and the silo believes every part of its header: who sent it (the response goes there), which
/// way it travels (a response completes whatever call is waiting under its target and id), how it may interleave with
/// the calls its target is already running, and the hash codes of its ids (the silo files activations and directory
/// entries under the hash it is given, so an id with a made-up hash reaches a second activation of a grain that is
/// already active). <see cref="GatewayFrameGuard"/> holds every frame from a client to these rules before Orleans reads
/// it; the values the rules need from the silo's runtime are read once, here.
/// </summary>
/// <remarks>
/// <para>The rules, for every frame after the connection's preamble:</para>
/// <list type="bullet">
/// <item>every id in the header (the sending and target grain's type and key, the interface type) carries the hash
/// Orleans computes for its bytes (<see cref="StableHash"/>): otherwise <see cref="ShapeRefusal.ForgedIdHash"/>;</item>
/// <item>the message is a request or a one-way request: a client answers nothing (GrantSilo calls its observers one
/// way), so a response, rejection or status from a client is <see cref="ShapeRefusal.NotARequest"/>;</item>
/// <item>its sender is the client the preamble named, and that the gateway routes this connection's answers to:
/// otherwise <see cref="ShapeRefusal.ForgedSender"/>;</item>
/// <item>no flag only silos set: a system message, cache invalidation entries, local-only, or a bit Orleans does not
/// define: otherwise <see cref="ShapeRefusal.ForbiddenFlags"/>;</item>
/// <item>the interleaving flags (read-only, always-interleave, unordered) stay only as the called method declares them:
/// a client does not decide which calls a grain runs together. The method is the invokable type the body names first (as
/// Orleans' client writes it); flags a body does not name a declaring method for are cleared.</item>
/// </list>
/// </remarks>
internal sealed class ClientFrameRules
{
    // Orleans' Message.MessageFlags, the low 16 bits of the packed header.
    internal const uint SystemMessage = 1 << 0;
    internal const uint ReadOnly = 1 << 1;
    internal const uint AlwaysInterleave = 1 << 2;
    internal const uint Unordered = 1 << 3;
    internal const uint HasInterfaceType = 1 << 6;
    internal const uint HasCacheInvalidationHeader = 1 << 7;
    internal const uint HasTimeToLive = 1 << 8;
    internal const uint IsLocalOnly = 1 << 9;

    // Flags a client never sets: system messages, directory cache entries, local-only, and bits 11-15 (undefined or reserved).
    private const uint SiloOnlyFlags = SystemMessage | HasCacheInvalidationHeader | IsLocalOnly | 0xF800;
    private const uint InterleavingFlags = ReadOnly | AlwaysInterleave | Unordered;

    // Orleans' Message.Directions, bits 16-19 of the packed header.
    private const uint DirectionMask = 0x000F_0000;
    internal const uint Request = 1 << 16;
    internal const uint Response = 2 << 16;
    internal const uint OneWay = 3 << 16;

    private const int MaxPreambleLength = 1024;

    private readonly Func<byte[], GrainId?> _readPreamble;

    // The interleaving flags each call may carry, by the name Orleans writes for its invokable type on the wire.
    private readonly Dictionary<string, uint> _interleaving;
    private readonly Dictionary<string, uint>.AlternateLookup<ReadOnlySpan<char>> _interleavingByName;

    /// <param name="readPreamble">Reads the client's id from its preamble's bytes as Orleans' gateway does; null when they hold no preamble.</param>
    /// <param name="interleaving">For each call that declares interleaving flags (read-only, always-interleave, unordered), its invokable type's name as Orleans writes it, and those flags.</param>
    internal ClientFrameRules(Func<byte[], GrainId?> readPreamble, IReadOnlyDictionary<string, uint> interleaving)
    {
        _readPreamble = readPreamble;
        _interleaving = new Dictionary<string, uint>(interleaving, StringComparer.Ordinal);
        _interleavingByName = _interleaving.GetAlternateLookup<ReadOnlySpan<char>>();
    }

    /// <summary>The rules as the silo's runtime defines its preamble and the calls it knows.</summary>
    public ClientFrameRules(Serializer serializer, Orleans.Serialization.TypeSystem.TypeConverter types)
        : this(PreambleReader(serializer), DeclaredInterleaving(types))
    {
    }

    /// <summary>The interleaving flags a call of this invokable type declares (for tests).</summary>
    internal uint DeclaredFlags(string invokableName) => _interleaving.GetValueOrDefault(invokableName);

    /// <summary>
    /// The client a preamble names: a client id (not a grain's or a silo's) whose hashes are its bytes' own. Null when
    /// the preamble cannot be read as one.
    /// </summary>
    public ClientId? ReadClient(ReadOnlySequence<byte> preamble)
    {
        if (preamble.Length > MaxPreambleLength)
        {
            return null;
        }
        GrainId? named;
        try
        {
            named = _readPreamble(preamble.ToArray());
        }
        catch (Exception)
        {
            // Orleans would refuse it too; the guard closes the connection instead.
            return null;
        }
        if (named is not { } id || !id.IsClient() || id.Key.AsSpan().Contains((byte)'+') || !HashIsOwn(id.Type.Value) || !HashIsOwn(id.Key))
        {
            return null;
        }
        return new ClientId(id, id.Type.Value.AsSpan().ToArray(), id.Key.AsSpan().ToArray());
    }

    /// <summary>
    /// Holds one frame's header (already accepted by <see cref="MessageShape.CheckHeader"/>) to the rules for
    /// <paramref name="client"/>. Accepted, <paramref name="packedHeaders"/> is the packed header value Orleans should
    /// read: the one sent, or the one sent with its interleaving flags cleared.
    /// </summary>
    public ShapeCheck Check(ReadOnlySequence<byte> header, ReadOnlySequence<byte> body, ClientId client, out uint packedHeaders, out bool rewritten)
    {
        var reader = new SequenceReader<byte>(header);
        rewritten = false;
        if (!reader.TryReadLittleEndian(out int packed))
        {
            packedHeaders = 0;
            return new(ShapeRefusal.Truncated, 0);
        }
        packedHeaders = (uint)packed;
        var direction = packedHeaders & DirectionMask;
        if (direction != Request && direction != OneWay)
        {
            return new(ShapeRefusal.NotARequest, 0);
        }
        if ((packedHeaders & SiloOnlyFlags) != 0)
        {
            return new(ShapeRefusal.ForbiddenFlags, 0);
        }
        reader.Advance(8); // the correlation id

        // The sender: ids with the hashes of their bytes, and those bytes the client's own.
        var at = reader.Consumed;
        var senderType = Id(ref reader, client.Type);
        var senderKey = senderType == IdCheck.ForgedHash ? IdCheck.ForgedHash : Id(ref reader, client.Key);
        if (senderType == IdCheck.ForgedHash || senderKey == IdCheck.ForgedHash)
        {
            return new(ShapeRefusal.ForgedIdHash, at);
        }
        if (senderType != IdCheck.Same || senderKey != IdCheck.Same)
        {
            return new(ShapeRefusal.ForgedSender, at);
        }
        // The target: any id, with the hashes of its bytes.
        at = reader.Consumed;
        if (Id(ref reader, []) == IdCheck.ForgedHash || Id(ref reader, []) == IdCheck.ForgedHash)
        {
            return new(ShapeRefusal.ForgedIdHash, at);
        }
        // The two silo addresses (the gateway sets the sender's; the target's routes a system target's call).
        for (var i = 0; i < 2; i++)
        {
            if (!TryReadVarUInt32(ref reader, out var length) || reader.Remaining < length)
            {
                return new(ShapeRefusal.Truncated, reader.Consumed);
            }
            reader.Advance(length);
        }
        if ((packedHeaders & HasTimeToLive) != 0)
        {
            reader.Advance(4);
        }
        if ((packedHeaders & HasInterfaceType) != 0)
        {
            at = reader.Consumed;
            if (Id(ref reader, []) == IdCheck.ForgedHash)
            {
                return new(ShapeRefusal.ForgedIdHash, at);
            }
        }

        // A call may interleave only as its method declares: the flags the body's call type allows stay, the rest go.
        var allowed = (packedHeaders & InterleavingFlags) == 0 ? 0 : AllowedInterleaving(body);
        var cleared = packedHeaders & ~(InterleavingFlags & ~allowed);
        rewritten = cleared != packedHeaders;
        packedHeaders = cleared;
        return ShapeCheck.Accepted;
    }

    // The interleaving flags the call in this body declares: its first field names the call's invokable type (written by
    // name, as Orleans' client writes it); a body whose call type is not named there, or names a call that declares none,
    // allows none.
    private uint AllowedInterleaving(ReadOnlySequence<byte> body)
    {
        var reader = new SequenceReader<byte>(body);
        if (!reader.TryRead(out var tag) || (tag & 0b0001_1000) != 0b0001_0000)
        {
            return 0; // not a field whose type is encoded by name
        }
        if ((tag & 0b0000_0111) == 0b0000_0111 && !TryReadVarUInt32(ref reader, out _))
        {
            return 0;
        }
        if (!reader.TryRead(out var version) || version != 1 || !reader.TryReadLittleEndian(out int _)
            || !TryReadVarUInt32(ref reader, out var length) || length > 1024 || reader.Remaining < length)
        {
            return 0;
        }
        Span<byte> utf8 = stackalloc byte[(int)length];
        reader.TryCopyTo(utf8);
        Span<char> name = stackalloc char[(int)length];
        // Compared with !=, not Equals(object): that boxed both statuses, 48 bytes on every frame asking to interleave.
        if (System.Text.Unicode.Utf8.ToUtf16(utf8, name, out _, out var written, replaceInvalidSequences: false) != OperationStatus.Done)
        {
            return 0;
        }
        return _interleavingByName.TryGetValue(name[..written], out var flags) ? flags : 0;
    }

    // Every call the silo's runtime can invoke that declares interleaving flags: each invokable type Orleans generated (in
    // every loaded assembly that refers to Orleans' serializer), by the name Orleans writes for it, and the flags it
    // declares. Built once, at silo start (internal for the gateway guard's benchmark, which times it).
    internal static Dictionary<string, uint> DeclaredInterleaving(Orleans.Serialization.TypeSystem.TypeConverter types)
    {
        var declared = new Dictionary<string, uint>(StringComparer.Ordinal);
        var orleans = typeof(Orleans.Serialization.Invocation.IInvokable).Assembly.GetName().Name;
        foreach (var assembly in AppDomain.CurrentDomain.GetAssemblies())
        {
            if (assembly.IsDynamic || assembly.GetName().Name != orleans && !assembly.GetReferencedAssemblies().Any(a => a.Name == orleans))
            {
                continue;
            }
            Type[] candidates;
            try
            {
                candidates = assembly.GetTypes();
            }
            catch (ReflectionTypeLoadException partial)
            {
                candidates = [.. partial.Types.Where(t => t is not null)!];
            }
            foreach (var type in candidates)
            {
                if (type.IsAbstract || type.ContainsGenericParameters || !typeof(RequestBase).IsAssignableFrom(type) || type.GetConstructor(Type.EmptyTypes) is null)
                {
                    continue;
                }
                InvokeMethodOptions options;
                try
                {
                    options = ((RequestBase)Activator.CreateInstance(type)!).Options;
                }
                catch (Exception)
                {
                    continue;
                }
                var flags = ((options & InvokeMethodOptions.ReadOnly) != 0 ? ReadOnly : 0)
                    | ((options & InvokeMethodOptions.AlwaysInterleave) != 0 ? AlwaysInterleave : 0)
                    | ((options & InvokeMethodOptions.Unordered) != 0 ? Unordered : 0);
                if (flags != 0)
                {
                    declared[types.Format(type)] = flags;
                }
            }
        }
        return declared;
    }

    private enum IdCheck
    {
        Same,
        Other,
        ForgedHash,
    }

    // An id span as Orleans writes it raw: a varint length, then (unless zero) its 4-byte hash and the bytes. ForgedHash
    // when the hash is not the bytes' own (or the span is cut short); otherwise whether the bytes are compareTo's.
    private static IdCheck Id(ref SequenceReader<byte> reader, ReadOnlySpan<byte> compareTo)
    {
        if (!TryReadVarUInt32(ref reader, out var length))
        {
            return IdCheck.ForgedHash;
        }
        if (length == 0)
        {
            return compareTo.IsEmpty ? IdCheck.Same : IdCheck.Other;
        }
        if (!reader.TryReadLittleEndian(out int hash) || reader.Remaining < length)
        {
            return IdCheck.ForgedHash;
        }
        Span<byte> scratch = stackalloc byte[256];
        byte[]? rented = null;
        try
        {
            scoped ReadOnlySpan<byte> bytes;
            if (reader.UnreadSpan.Length >= length)
            {
                bytes = reader.UnreadSpan[..(int)length];
            }
            else
            {
                var copy = length <= scratch.Length ? scratch : (rented = ArrayPool<byte>.Shared.Rent((int)length));
                copy = copy[..(int)length];
                reader.TryCopyTo(copy);
                bytes = copy;
            }
            var verdict = hash != (int)StableHash.ComputeHash(bytes) ? IdCheck.ForgedHash
                : bytes.SequenceEqual(compareTo) ? IdCheck.Same
                : IdCheck.Other;
            reader.Advance(length);
            return verdict;
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<byte>.Shared.Return(rented);
            }
        }
    }

    private static bool HashIsOwn(IdSpan span) =>
        span.IsDefault || span.GetHashCode() == (int)StableHash.ComputeHash(span.AsSpan());

    private static bool TryReadVarUInt32(ref SequenceReader<byte> reader, out uint value) =>
        MessageShape.ReadVarUInt32(ref reader, out value) == ShapeRefusal.None;

    private static Type OrleansType(string name) =>
        typeof(Orleans.Configuration.ClusterOptions).Assembly.GetType(name, throwOnError: true)!;

    // Orleans reads a preamble with Serializer<ConnectionPreamble>; the type is internal, so it is reached by name, and its
    // NodeIdentity property names the client.
    private static Func<byte[], GrainId?> PreambleReader(Serializer serializer)
    {
        var type = OrleansType("Orleans.Runtime.Messaging.ConnectionPreamble");
        var read = typeof(ClientFrameRules).GetMethod(nameof(Deserialize), BindingFlags.NonPublic | BindingFlags.Static)!
            .MakeGenericMethod(type)
            .CreateDelegate<Func<Serializer, byte[], object?>>();
        var identity = type.GetProperty("NodeIdentity", BindingFlags.Public | BindingFlags.Instance)!;
        return bytes => read(serializer, bytes) is { } preamble ? (GrainId?)identity.GetValue(preamble) : null;
    }

    private static object? Deserialize<T>(Serializer serializer, byte[] bytes) => serializer.Deserialize<T>(bytes.AsSpan());

    /// <summary>A client's id, and its bytes (the grain type's and the key's) for comparing a header's ids with.</summary>
    internal sealed record ClientId(GrainId Id, byte[] Type, byte[] Key);
}
