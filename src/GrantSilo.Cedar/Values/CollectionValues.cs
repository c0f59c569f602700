using System.Text;

namespace GrantSilo.Cedar.Values;

internal sealed class SetValue : CedarValue
{
    public static readonly SetValue Empty = new([]);
    private const int LinearScanLimit = 8;
    private HashSet<CedarValue>? _lookup;
    private int _hash;

    private SetValue(CedarValue[] items) => Items = items;

    /// <summary>Distinct items in first-seen order.</summary>
    public CedarValue[] Items { get; }

    public override CedarType Kind => CedarType.Set;

    public int Count => Items.Length;

    public static SetValue Create(IEnumerable<CedarValue> items)
    {
        var list = new List<CedarValue>();
        HashSet<CedarValue>? seen = null;
        foreach (var item in items)
        {
            ArgumentNullException.ThrowIfNull(item, nameof(items));
            seen ??= [];
            if (seen.Add(item))
            {
                list.Add(item);
            }
        }

        return list.Count == 0 ? Empty : new SetValue([.. list]);
    }

    /// <summary>Builds a set from a buffer the caller no longer uses; removes duplicates.</summary>
    public static SetValue FromBuffer(CedarValue[] buffer)
    {
        if (buffer.Length == 0)
        {
            return Empty;
        }

        if (buffer.Length <= LinearScanLimit)
        {
            var n = 0;
            for (var i = 0; i < buffer.Length; i++)
            {
                var dup = false;
                for (var j = 0; j < n; j++)
                {
                    if (buffer[j].Equals(buffer[i]))
                    {
                        dup = true;
                        break;
                    }
                }

                if (!dup)
                {
                    buffer[n++] = buffer[i];
                }
            }

            return new SetValue(n == buffer.Length ? buffer : buffer[..n]);
        }

        return Create(buffer);
    }

    public bool Contains(CedarValue v)
    {
        var items = Items;
        if (items.Length <= LinearScanLimit)
        {
            foreach (var item in items)
            {
                if (item.Equals(v))
                {
                    return true;
                }
            }

            return false;
        }

        var lookup = _lookup;
        if (lookup is null)
        {
            lookup = new HashSet<CedarValue>(items);
            _lookup = lookup;
        }

        return lookup.Contains(v);
    }

    public bool ContainsAll(SetValue other)
    {
        foreach (var item in other.Items)
        {
            if (!Contains(item))
            {
                return false;
            }
        }

        return true;
    }

    public bool ContainsAny(SetValue other)
    {
        foreach (var item in other.Items)
        {
            if (Contains(item))
            {
                return true;
            }
        }

        return false;
    }

    public override bool Equals(CedarValue? other) =>
        other is SetValue s && (ReferenceEquals(s, this) || (s.Items.Length == Items.Length && ContainsAll(s)));

    public override int GetHashCode()
    {
        if (_hash == 0)
        {
            var h = 0x5e7;
            foreach (var item in Items)
            {
                h += item.GetHashCode();
            }

            _hash = h == 0 ? 1 : h;
        }

        return _hash;
    }

    public override string ToString() => "[" + string.Join(", ", Items.Select(i => i.ToString())) + "]";
}

internal sealed class RecordValue : CedarValue
{
    public static readonly RecordValue Empty = new(new Dictionary<string, CedarValue>(StringComparer.Ordinal));
    private int _hash;

    internal RecordValue(Dictionary<string, CedarValue> attributes) => Attributes = attributes;

    public Dictionary<string, CedarValue> Attributes { get; }

    public override CedarType Kind => CedarType.Record;

    public static RecordValue Create(IEnumerable<KeyValuePair<string, CedarValue>> attributes)
    {
        var d = attributes.TryGetNonEnumeratedCount(out var count)
            ? new Dictionary<string, CedarValue>(count, StringComparer.Ordinal)
            : new Dictionary<string, CedarValue>(StringComparer.Ordinal);
        foreach (var (k, v) in attributes)
        {
            ArgumentNullException.ThrowIfNull(k, nameof(attributes));
            ArgumentNullException.ThrowIfNull(v, nameof(attributes));
            d[k] = v;
        }

        return d.Count == 0 ? Empty : new RecordValue(d);
    }

    public bool TryGet(string key, out CedarValue value) => Attributes.TryGetValue(key, out value!);

    public override bool Equals(CedarValue? other)
    {
        if (other is not RecordValue r)
        {
            return false;
        }

        if (ReferenceEquals(r, this))
        {
            return true;
        }

        if (r.Attributes.Count != Attributes.Count)
        {
            return false;
        }

        foreach (var (k, v) in Attributes)
        {
            if (!r.Attributes.TryGetValue(k, out var ov) || !v.Equals(ov))
            {
                return false;
            }
        }

        return true;
    }

    public override int GetHashCode()
    {
        if (_hash == 0)
        {
            var h = 0x7ec;
            foreach (var (k, v) in Attributes)
            {
                h += HashCode.Combine(StringComparer.Ordinal.GetHashCode(k), v.GetHashCode());
            }

            _hash = h == 0 ? 1 : h;
        }

        return _hash;
    }

    public override string ToString()
    {
        var sb = new StringBuilder("{");
        var first = true;
        foreach (var (k, v) in Attributes.OrderBy(p => p.Key, StringComparer.Ordinal))
        {
            if (!first)
            {
                sb.Append(", ");
            }

            first = false;
            sb.Append(Quote(k)).Append(": ").Append(v);
        }

        return sb.Append('}').ToString();
    }
}
