using System.Buffers.Binary;
using Orleans.Serialization;

namespace GrantSilo.Testing;

/// <summary>
/// A gateway client's bytes written by hand, as a hostile client would write them: the connection preamble naming a
/// client, and message frames whose headers say whatever the test wants (sender, target, direction, flags, the hash
/// codes of their ids).
/// </summary>
public static class ClientFrames
{
    // Orleans' packed header: flags in the low 16 bits, the direction in bits 16-19.
    public const uint Request = 1 << 16;
    public const uint Response = 2 << 16;
    public const uint OneWay = 3 << 16;
    public const uint SystemMessage = 1 << 0;
    public const uint ReadOnly = 1 << 1;
    public const uint AlwaysInterleave = 1 << 2;
    public const uint Unordered = 1 << 3;
    public const uint HasRequestContextData = 1 << 4;
    public const uint HasInterfaceType = 1 << 6;
    public const uint HasCacheInvalidationHeader = 1 << 7;
    public const uint HasTimeToLive = 1 << 8;
    public const uint IsLocalOnly = 1 << 9;

    /// <summary>A new client id, as Orleans' client makes its own.</summary>
    public static GrainId NewClient() => GrainId.Create("sys.client", Guid.NewGuid().ToString("N"));

    /// <summary>The length-prefixed preamble a client of <paramref name="clusterId"/> sends first, naming <paramref name="client"/>.</summary>
    public static byte[] Preamble(Serializer serializer, GrainId client, string clusterId = "test-cluster")
    {
        var type = typeof(Orleans.Configuration.ClusterOptions).Assembly.GetType("Orleans.Runtime.Messaging.ConnectionPreamble", throwOnError: true)!;
        var preamble = Activator.CreateInstance(type, nonPublic: true)!;
        type.GetProperty("NetworkProtocolVersion")!.SetValue(preamble, Enum.ToObject(type.GetProperty("NetworkProtocolVersion")!.PropertyType, 1));
        type.GetProperty("NodeIdentity")!.SetValue(preamble, client);
        type.GetProperty("ClusterId")!.SetValue(preamble, clusterId);
        var bytes = serializer.SerializeToArray<object>(preamble);
        var framed = new byte[4 + bytes.Length];
        BinaryPrimitives.WriteInt32LittleEndian(framed, bytes.Length);
        bytes.CopyTo(framed.AsSpan(4));
        return framed;
    }

    /// <summary>
    /// A message header as Orleans' message serializer writes one: <paramref name="packed"/> (direction and flags), a
    /// correlation id, the sending and target grain ids, no silo addresses, then the time to live, the interface type
    /// and the request context (<see cref="RequestContext"/>) when given. A hash given for a key replaces the one Orleans
    /// would compute from its bytes.
    /// </summary>
    public static byte[] Header(uint packed, GrainId sender, GrainId target, GrainInterfaceType? interfaceType = null, int? targetKeyHash = null, int? senderKeyHash = null, long id = 1, int? timeToLiveMilliseconds = null, byte[]? requestContext = null)
    {
        var header = new List<byte>();
        Span<byte> word = stackalloc byte[8];
        packed |= (interfaceType is null ? 0 : HasInterfaceType) | (timeToLiveMilliseconds is null ? 0 : HasTimeToLive) | (requestContext is null ? 0 : HasRequestContextData);
        BinaryPrimitives.WriteUInt32LittleEndian(word, packed);
        header.AddRange(word[..4].ToArray());
        BinaryPrimitives.WriteInt64LittleEndian(word, id);
        header.AddRange(word.ToArray());
        IdSpan(header, sender.Type.Value.AsSpan(), null);
        IdSpan(header, sender.Key.AsSpan(), senderKeyHash);
        IdSpan(header, target.Type.Value.AsSpan(), null);
        IdSpan(header, target.Key.AsSpan(), targetKeyHash);
        header.Add(1); // no sending silo
        header.Add(1); // no target silo
        if (timeToLiveMilliseconds is { } timeToLive)
        {
            BinaryPrimitives.WriteInt32LittleEndian(word, timeToLive);
            header.AddRange(word[..4].ToArray());
        }
        if (interfaceType is { } type)
        {
            IdSpan(header, type.Value.AsSpan(), null);
        }
        if (requestContext is not null)
        {
            header.AddRange(requestContext);
        }
        return [.. header];
    }

    /// <summary>
    /// A request context as Orleans' message serializer writes it last in a header: the number of entries, then each
    /// key (a varint of its UTF-8 length plus one, then the bytes) and its value as one field.
    /// </summary>
    public static byte[] RequestContext(Serializer serializer, params (string Key, object Value)[] entries)
    {
        var context = new List<byte>();
        VarUInt32(context, (uint)entries.Length);
        foreach (var (key, value) in entries)
        {
            var name = System.Text.Encoding.UTF8.GetBytes(key);
            VarUInt32(context, (uint)name.Length + 1);
            context.AddRange(name);
            context.AddRange(serializer.SerializeToArray<object>(value));
        }
        return [.. context];
    }

    /// <summary>One frame: the header and body lengths, then each.</summary>
    public static byte[] Frame(byte[] header, byte[] body)
    {
        var frame = new byte[8 + header.Length + body.Length];
        BinaryPrimitives.WriteInt32LittleEndian(frame, header.Length);
        BinaryPrimitives.WriteInt32LittleEndian(frame.AsSpan(4), body.Length);
        header.CopyTo(frame.AsSpan(8));
        body.CopyTo(frame.AsSpan(8 + header.Length));
        return frame;
    }

    /// <summary>The packed header Orleans would read from a frame (its first four header bytes).</summary>
    public static uint PackedHeader(ReadOnlySpan<byte> frame) => BinaryPrimitives.ReadUInt32LittleEndian(frame[8..]);

    // Orleans' raw id span: a prefix varint of the length (value << count | 1 << (count - 1)), then the hash and the bytes.
    private static void IdSpan(List<byte> into, ReadOnlySpan<byte> bytes, int? hash)
    {
        VarUInt32(into, (uint)bytes.Length);
        if (bytes.IsEmpty)
        {
            return;
        }
        Span<byte> word = stackalloc byte[4];
        BinaryPrimitives.WriteInt32LittleEndian(word, hash ?? (int)StableHash.ComputeHash(bytes));
        into.AddRange(word.ToArray());
        into.AddRange(bytes.ToArray());
    }

    // Orleans' prefix varint: the value shifted past a marker bit whose position says how many bytes follow.
    private static void VarUInt32(List<byte> into, uint value)
    {
        var count = 1;
        while (count < 5 && value >= 1UL << (7 * count))
        {
            count++;
        }
        var varint = ((ulong)value << count) | (1UL << (count - 1));
        for (var i = 0; i < count; i++)
        {
            into.Add((byte)(varint >> (8 * i)));
        }
    }
}
