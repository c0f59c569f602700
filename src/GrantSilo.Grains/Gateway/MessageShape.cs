using System.Buffers;
using System.Buffers.Binary;
using System.Numerics;

namespace GrantSilo.Grains.Gateway;

/// <summary>Why <see cref="MessageShape"/> refused a frame.</summary>
internal enum ShapeRefusal
{
    /// <summary>The frame is well formed and within the depth bound.</summary>
    None = 0,

    /// <summary>Objects nest deeper than the bound (GrantSilo:Messaging:MaxMessageDepth).</summary>
    TooDeep,

    /// <summary>A type name nests its compound or generic parts deeper than the bound.</summary>
    TypeNameTooDeep,

    /// <summary>The frame ends inside a field, a length, or an unfinished object.</summary>
    Truncated,

    /// <summary>A field tag names a wire type (or an extended wire type) Orleans does not define.</summary>
    UnknownWireType,

    /// <summary>A variable-length integer is longer than its type allows.</summary>
    BadVarInt,

    /// <summary>An encoded type is in a version Orleans does not read.</summary>
    UnknownTypeEncoding,

    /// <summary>An end-of-object marker where no object is open.</summary>
    UnbalancedEnd,

    /// <summary>The frame's length prefix is out of the configured bounds.</summary>
    FrameLength,

    /// <summary>The connection's preamble does not name a client (with its id's own hashes), as a client's must.</summary>
    BadPreamble,

    /// <summary>An id in the header carries a hash code other than its bytes' own (<see cref="ClientFrameRules"/>).</summary>
    ForgedIdHash,

    /// <summary>The message is not a request: a client answers nothing (<see cref="ClientFrameRules"/>).</summary>
    NotARequest,

    /// <summary>The message names a sender other than the client the connection's preamble named (<see cref="ClientFrameRules"/>).</summary>
    ForgedSender,

    /// <summary>The header carries a flag only silos set (<see cref="ClientFrameRules"/>).</summary>
    ForbiddenFlags,

    /// <summary>The preamble names a client id another open connection holds (<see cref="ClientIdHolds"/>).</summary>
    ClientIdInUse,
}

/// <summary>The outcome of a shape check: a refusal (or <see cref="ShapeRefusal.None"/>) and the offset it was found at.</summary>
internal readonly record struct ShapeCheck(ShapeRefusal Refusal, long Position)
{
    public static ShapeCheck Accepted { get; } = new(ShapeRefusal.None, 0);

    public bool IsAccepted => Refusal == ShapeRefusal.None;
}

/// <summary>
/// Walks Orleans' serialization wire format without recursion and without building any object, to find out whether
/// Orleans' own deserializer would nest deeper than a bound reading it. Orleans reads an object inside an object with
/// a call inside a call and has no limit of its own, so a frame a few tens of kilobytes long can end the process with a
/// stack overflow; the gateway guard checks every frame a client sends with this before Orleans sees it.
/// </summary>
/// <remarks>
/// <para>A field is a tag byte: three bits of wire type, two of schema type, three of field-id delta. A delta of 7 is
/// followed by a varint delta; a schema type other than "expected" is followed by the field's type (a well-known id, an
/// encoded type name, or a reference to a type named earlier). The wire type says how the value is laid out: a varint
/// (or a reference to an earlier object, also a varint), a fixed 4 or 8 bytes, a varint length and that many bytes, or
/// fields up to an end-of-object tag (tag-delimited). Only tag-delimited values nest, so the depth is a counter. The
/// extended wire type carries the end-of-object and end-of-base-fields markers; any other extended tag is one Orleans
/// refuses too.</para>
/// <para>Orleans' integers are prefix varints: the number of trailing zero bits of the first byte (or, when it is zero,
/// eight plus those of the second) plus one is the number of bytes.</para>
/// <para>Type names, both the encoded schema types of field headers and the contents of length-prefixed values (a
/// <see cref="Type"/> value is written as its name, and a string cannot be told from a name on the wire), are read by
/// Orleans with a recursive parser that nests once for each <c>([</c>, the opening of an element of a compound type
/// alias. A length-prefixed value in which <c>([</c> opens more levels than <c>])</c> has closed, beyond the bound, is
/// refused. Generic arguments also nest, but Orleans bounds a name's total generic arity (64) itself.</para>
/// </remarks>
internal static class MessageShape
{
    private const byte WireTypeMask = 0b1110_0000;
    private const byte SchemaTypeMask = 0b0001_1000;
    private const byte FieldIdMask = 0b0000_0111;

    private const byte VarInt = 0b000 << 5;
    private const byte TagDelimited = 0b001 << 5;
    private const byte LengthPrefixed = 0b010 << 5;
    private const byte Fixed32 = 0b011 << 5;
    private const byte Fixed64 = 0b100 << 5;
    private const byte Reference = 0b110 << 5;
    private const byte Extended = 0b111 << 5;

    private const byte EndObject = Extended | (0b00 << 3);
    private const byte EndBaseFields = Extended | (0b01 << 3);

    private const byte SchemaExpected = 0b00 << 3;
    private const byte SchemaWellKnown = 0b01 << 3;
    private const byte SchemaEncoded = 0b10 << 3;
    private const byte SchemaReferenced = 0b11 << 3;

    private const byte TypeEncodingVersion1 = 1;

    // The packed header flags that say which optional parts a message header carries (Orleans' Message.MessageFlags).
    private const uint HasRequestContextData = 1 << 4;
    private const uint HasInterfaceVersion = 1 << 5;
    private const uint HasInterfaceType = 1 << 6;
    private const uint HasCacheInvalidationHeader = 1 << 7;
    private const uint HasTimeToLive = 1 << 8;

    /// <summary>
    /// Checks a sequence of whole fields, as Orleans' serializer writes one value (a message body, a connection
    /// preamble): every field is complete, objects close in order, and nothing nests deeper than
    /// <paramref name="maxDepth"/>. An empty sequence is accepted (a message without a body).
    /// </summary>
    public static ShapeCheck CheckFields(ReadOnlySequence<byte> fields, int maxDepth)
    {
        var walker = new Walker(fields, maxDepth);
        while (!walker.End)
        {
            var refusal = walker.Field();
            if (refusal != ShapeRefusal.None)
            {
                return walker.Refused(refusal);
            }
        }
        return ShapeCheck.Accepted;
    }

    /// <summary>
    /// Checks a message header as Orleans' message serializer writes it: packed flags, correlation id, sending and target
    /// grain ids and silo addresses, then the optional time to live, interface type, interface version, cache
    /// invalidation entries (each a field) and request context (entries of a string key and a field value), in that
    /// order. Bytes after the request context are left alone, as Orleans leaves them.
    /// </summary>
    public static ShapeCheck CheckHeader(ReadOnlySequence<byte> header, int maxDepth)
    {
        var walker = new Walker(header, maxDepth);
        var refusal = walker.Header();
        return refusal == ShapeRefusal.None ? ShapeCheck.Accepted : walker.Refused(refusal);
    }

    // One pass over the input; every method returns a refusal, or None having consumed what it read.
    private ref struct Walker(ReadOnlySequence<byte> input, int maxDepth)
    {
        private SequenceReader<byte> _reader = new(input);
        private readonly int _maxDepth = maxDepth;

        public readonly bool End => _reader.End;

        public readonly ShapeCheck Refused(ShapeRefusal refusal) => new(refusal, _reader.Consumed);

        public ShapeRefusal Header()
        {
            if (!_reader.TryReadLittleEndian(out int packed))
            {
                return ShapeRefusal.Truncated;
            }
            var flags = (uint)packed;
            // The correlation id.
            var refusal = Skip(8);
            // Sending grain, target grain (each a type and a key id span), sending silo, target silo.
            for (var i = 0; i < 4 && refusal == ShapeRefusal.None; i++)
            {
                refusal = IdSpan();
            }
            for (var i = 0; i < 2 && refusal == ShapeRefusal.None; i++)
            {
                refusal = LengthAndBytes(scanTypeName: false);
            }
            if (refusal == ShapeRefusal.None && (flags & HasTimeToLive) != 0)
            {
                refusal = Skip(4);
            }
            if (refusal == ShapeRefusal.None && (flags & HasInterfaceType) != 0)
            {
                refusal = IdSpan();
            }
            if (refusal == ShapeRefusal.None && (flags & HasInterfaceVersion) != 0)
            {
                refusal = VarUInt32(out _);
            }
            if (refusal == ShapeRefusal.None && (flags & HasCacheInvalidationHeader) != 0)
            {
                refusal = VarUInt32(out var updates);
                for (var i = 0u; i < updates && refusal == ShapeRefusal.None; i++)
                {
                    refusal = Field();
                }
            }
            if (refusal == ShapeRefusal.None && (flags & HasRequestContextData) != 0)
            {
                refusal = VarUInt32(out var entries);
                for (var i = 0u; i < entries && refusal == ShapeRefusal.None; i++)
                {
                    // The key: a varint of its UTF-8 length plus one (zero for null), then the bytes.
                    refusal = VarUInt32(out var keyLength);
                    if (refusal == ShapeRefusal.None && keyLength > 1)
                    {
                        refusal = Skip(keyLength - 1);
                    }
                    if (refusal == ShapeRefusal.None)
                    {
                        refusal = Field();
                    }
                }
            }
            return refusal;
        }

        // A grain type, grain key or interface type: a varint length, then (unless zero) a 4-byte hash and that many bytes.
        private ShapeRefusal IdSpan()
        {
            var refusal = VarUInt32(out var length);
            if (refusal != ShapeRefusal.None || length == 0)
            {
                return refusal;
            }
            return Skip(4 + (long)length);
        }

        /// <summary>One whole field, with everything nested in it, read iteratively.</summary>
        public ShapeRefusal Field()
        {
            var depth = 0;
            do
            {
                if (!_reader.TryRead(out var tag))
                {
                    return ShapeRefusal.Truncated;
                }
                if ((tag & WireTypeMask) == Extended)
                {
                    if (depth == 0)
                    {
                        return tag is EndObject or EndBaseFields ? ShapeRefusal.UnbalancedEnd : ShapeRefusal.UnknownWireType;
                    }
                    if (tag == EndObject)
                    {
                        depth--;
                        continue;
                    }
                    if (tag == EndBaseFields)
                    {
                        continue;
                    }
                    return ShapeRefusal.UnknownWireType;
                }

                var refusal = FieldHeaderRest(tag);
                if (refusal != ShapeRefusal.None)
                {
                    return refusal;
                }

                switch (tag & WireTypeMask)
                {
                    case VarInt:
                    case Reference:
                        refusal = SkipVarInt64();
                        break;
                    case TagDelimited:
                        if (++depth > _maxDepth)
                        {
                            return ShapeRefusal.TooDeep;
                        }
                        break;
                    case LengthPrefixed:
                        refusal = LengthAndBytes(scanTypeName: true);
                        break;
                    case Fixed32:
                        refusal = Skip(4);
                        break;
                    case Fixed64:
                        refusal = Skip(8);
                        break;
                    default:
                        return ShapeRefusal.UnknownWireType;
                }
                if (refusal != ShapeRefusal.None)
                {
                    return refusal;
                }
            }
            while (depth > 0);
            return ShapeRefusal.None;
        }

        // What follows the tag byte of a field header: an extended field-id delta, then the field's type when the schema
        // type is not "expected".
        private ShapeRefusal FieldHeaderRest(byte tag)
        {
            if ((tag & FieldIdMask) == FieldIdMask)
            {
                var refusal = VarUInt32(out _);
                if (refusal != ShapeRefusal.None)
                {
                    return refusal;
                }
            }
            switch (tag & SchemaTypeMask)
            {
                case SchemaExpected:
                    return ShapeRefusal.None;
                case SchemaWellKnown:
                case SchemaReferenced:
                    return VarUInt32(out _);
                case SchemaEncoded:
                    if (!_reader.TryRead(out var version))
                    {
                        return ShapeRefusal.Truncated;
                    }
                    if (version != TypeEncodingVersion1)
                    {
                        return ShapeRefusal.UnknownTypeEncoding;
                    }
                    var hash = Skip(4);
                    return hash != ShapeRefusal.None ? hash : LengthAndBytes(scanTypeName: true);
                default:
                    return ShapeRefusal.UnknownWireType;
            }
        }

        // A varint length and that many bytes, which must lie within the input.
        private ShapeRefusal LengthAndBytes(bool scanTypeName)
        {
            var refusal = VarUInt32(out var length);
            if (refusal != ShapeRefusal.None)
            {
                return refusal;
            }
            if (_reader.Remaining < length)
            {
                return ShapeRefusal.Truncated;
            }
            if (scanTypeName && TypeNameNesting(_reader.UnreadSequence.Slice(0, length)) > _maxDepth)
            {
                return ShapeRefusal.TypeNameTooDeep;
            }
            _reader.Advance(length);
            return ShapeRefusal.None;
        }

        private ShapeRefusal Skip(long count)
        {
            if (_reader.Remaining < count)
            {
                return ShapeRefusal.Truncated;
            }
            _reader.Advance(count);
            return ShapeRefusal.None;
        }

        // A prefix varint of at most 5 bytes whose value fits 32 bits.
        private ShapeRefusal VarUInt32(out uint value) => ReadVarUInt32(ref _reader, out value);

        // A prefix varint of at most 10 bytes; its value is not needed.
        private ShapeRefusal SkipVarInt64()
        {
            if (!_reader.TryRead(out var first))
            {
                return ShapeRefusal.Truncated;
            }
            if (first != 0)
            {
                return Skip(BitOperations.TrailingZeroCount(first));
            }
            if (!_reader.TryRead(out var second))
            {
                return ShapeRefusal.Truncated;
            }
            // Nine bytes when the second byte's lowest bit is set, ten when the next one is; more is not a 64-bit varint.
            var count = second == 0 ? 17 : BitOperations.TrailingZeroCount(second) + 9;
            return count > 10 ? ShapeRefusal.BadVarInt : Skip(count - 2);
        }
    }

    /// <summary>
    /// Reads one of Orleans' prefix varints of at most 5 bytes whose value fits 32 bits (its length is the trailing zero
    /// bits of the first byte, plus one): None having consumed it, or why not.
    /// </summary>
    internal static ShapeRefusal ReadVarUInt32(ref SequenceReader<byte> reader, out uint value)
    {
        value = 0;
        if (!reader.TryPeek(out var first))
        {
            return ShapeRefusal.Truncated;
        }
        var count = BitOperations.TrailingZeroCount(first | 0x100) + 1;
        if (count > 5)
        {
            return ShapeRefusal.BadVarInt;
        }
        Span<byte> bytes = stackalloc byte[8];
        bytes.Clear();
        if (!reader.TryCopyTo(bytes[..count]))
        {
            return ShapeRefusal.Truncated;
        }
        reader.Advance(count);
        var raw = BinaryPrimitives.ReadUInt64LittleEndian(bytes) >> count;
        if (raw > uint.MaxValue)
        {
            return ShapeRefusal.BadVarInt;
        }
        value = (uint)raw;
        return ShapeRefusal.None;
    }

    /// <summary>How deep Orleans' type-name parser would nest reading these bytes as a type name: the most <c>([</c>
    /// openings not yet closed by <c>])</c>.</summary>
    internal static int TypeNameNesting(ReadOnlySequence<byte> name)
    {
        int depth = 0, deepest = 0;
        byte previous = 0;
        foreach (var segment in name)
        {
            foreach (var b in segment.Span)
            {
                if (previous == (byte)'(' && b == (byte)'[')
                {
                    deepest = Math.Max(deepest, ++depth);
                }
                else if (previous == (byte)']' && b == (byte)')' && depth > 0)
                {
                    depth--;
                }
                previous = b;
            }
        }
        return deepest;
    }
}
