using System.Buffers.Binary;
using Orleans.Serialization;

namespace GrantSilo.Testing;

/// <summary>
/// Message bodies nested deeper than any thread's stack lets Orleans read, built from Orleans' own bytes without
/// serializing them (which would overflow the writer's stack too), and the raw frames that carry them to a gateway.
/// </summary>
public static class NestedMessages
{
    /// <summary>
    /// A body holding <paramref name="levels"/> (at least 2) object arrays, each the only element of the one around it:
    /// Orleans' bytes for two levels with the middle level's bytes repeated. <see cref="Deserializes"/> checks the result
    /// at a shallow depth against Orleans' own reader.
    /// </summary>
    public static byte[] NestedObjectArrays(Serializer serializer, int levels)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(levels, 2);
        var two = serializer.SerializeToArray<object>(Nest(2));
        var three = serializer.SerializeToArray<object>(Nest(3));
        // Three levels are two with one level's opening inserted somewhere and one more end tag; find where.
        var unit = three.Length - two.Length - 1;
        for (var at = 0; at <= two.Length; at++)
        {
            var opening = three.AsSpan(at, unit);
            if (three.AsSpan(0, at).SequenceEqual(two.AsSpan(0, at))
                && three.AsSpan(at + unit, two.Length - at).SequenceEqual(two.AsSpan(at))
                && three[^1] == EndObject)
            {
                var body = new byte[two.Length + (levels - 2) * (unit + 1)];
                var written = 0;
                two.AsSpan(0, at).CopyTo(body);
                written += at;
                for (var i = 0; i < levels - 2; i++)
                {
                    opening.CopyTo(body.AsSpan(written));
                    written += unit;
                }
                two.AsSpan(at).CopyTo(body.AsSpan(written));
                written += two.Length - at;
                body.AsSpan(written).Fill(EndObject);
                return body;
            }
        }
        throw new InvalidOperationException("Orleans' bytes for nested arrays are not a repetition of one level.");
    }

    /// <summary>How many object arrays Orleans finds nested in <paramref name="body"/> (for shallow bodies only).</summary>
    public static int Deserializes(Serializer serializer, byte[] body)
    {
        var value = serializer.Deserialize<object>(body);
        var levels = 0;
        while (value is object[] array)
        {
            levels++;
            value = array.Length > 0 ? array[0] : null;
        }
        return levels;
    }

    /// <summary>
    /// One message frame carrying <paramref name="body"/>: the two length prefixes and the smallest header Orleans reads
    /// (no optional parts), then the body.
    /// </summary>
    public static byte[] Frame(byte[] body)
    {
        // Packed flags (none), correlation id, four empty id spans, two absent silo addresses.
        byte[] header = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1];
        return ClientFrames.Frame(header, body);
    }

    private const byte EndObject = 0b1110_0000;

    private static object[] Nest(int levels)
    {
        var value = Array.Empty<object>();
        for (var i = 1; i < levels; i++)
        {
            value = [value];
        }
        return value;
    }
}
