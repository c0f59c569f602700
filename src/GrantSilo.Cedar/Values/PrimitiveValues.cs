using System.Globalization;

namespace GrantSilo.Cedar.Values;

internal sealed class BoolValue : CedarValue
{
    public static new readonly BoolValue True = new(true);
    public static new readonly BoolValue False = new(false);

    private BoolValue(bool value) => Value = value;

    public bool Value { get; }

    public override CedarType Kind => CedarType.Bool;

    public static BoolValue Of(bool b) => b ? True : False;

    public override bool Equals(CedarValue? other) => ReferenceEquals(this, other);

    public override int GetHashCode() => Value ? 1 : 0;

    public override string ToString() => Value ? "true" : "false";
}

internal sealed class LongValue : CedarValue
{
    private const long CacheMin = -128;
    private const long CacheMax = 1024;
    private static readonly LongValue[] Cache = CreateCache();

    private LongValue(long value) => Value = value;

    public long Value { get; }

    public override CedarType Kind => CedarType.Long;

    public static LongValue Of(long v) => v is >= CacheMin and <= CacheMax ? Cache[v - CacheMin] : new LongValue(v);

    public override bool Equals(CedarValue? other) => other is LongValue l && l.Value == Value;

    public override int GetHashCode() => Value.GetHashCode();

    public override string ToString() => Value.ToString(CultureInfo.InvariantCulture);

    private static LongValue[] CreateCache()
    {
        var cache = new LongValue[CacheMax - CacheMin + 1];
        for (var i = 0; i < cache.Length; i++)
        {
            cache[i] = new LongValue(i + CacheMin);
        }

        return cache;
    }
}

internal sealed class StringValue(string value) : CedarValue
{
    public string Value { get; } = value;

    public override CedarType Kind => CedarType.String;

    public override bool Equals(CedarValue? other) => other is StringValue s && string.Equals(s.Value, Value, StringComparison.Ordinal);

    public override int GetHashCode() => StringComparer.Ordinal.GetHashCode(Value);

    public override string ToString() => Quote(Value);
}
