using System.Globalization;
using System.Text;
using GrantSilo.Cedar.Values;

namespace GrantSilo.Cedar;

/// <summary>The type of a <see cref="CedarValue"/>.</summary>
public enum CedarType
{
    /// <summary><c>true</c> or <c>false</c>.</summary>
    Bool,
    /// <summary>A signed 64-bit integer.</summary>
    Long,
    /// <summary>A string.</summary>
    String,
    /// <summary>A set of values.</summary>
    Set,
    /// <summary>A record (attribute name to value).</summary>
    Record,
    /// <summary>An entity reference (<see cref="EntityUid"/>).</summary>
    Entity,
    /// <summary>The <c>ip</c> extension type.</summary>
    IpAddr,
    /// <summary>The <c>decimal</c> extension type.</summary>
    Decimal,
    /// <summary>The <c>datetime</c> extension type.</summary>
    Datetime,
    /// <summary>The <c>duration</c> extension type.</summary>
    Duration,
}

/// <summary>
/// An immutable Cedar value. Create values with the static factory methods
/// (<see cref="FromBool"/>, <see cref="FromLong"/>, <see cref="FromString"/>, <see cref="Set(IEnumerable{CedarValue})"/>, <see cref="Record(IEnumerable{KeyValuePair{string, CedarValue}})"/>,
/// <see cref="Ip"/>, <see cref="Decimal"/>, <see cref="Datetime(string)"/>, <see cref="Duration(string)"/>) or use an <see cref="EntityUid"/>.
/// Values compare structurally, as Cedar's <c>==</c> does.
/// </summary>
public abstract class CedarValue : IEquatable<CedarValue>
{
    private protected CedarValue()
    {
    }

    /// <summary>The Cedar type of this value.</summary>
    public abstract CedarType Kind { get; }

    /// <summary>The value <c>true</c>.</summary>
    public static CedarValue True => BoolValue.True;

    /// <summary>The value <c>false</c>.</summary>
    public static CedarValue False => BoolValue.False;

    /// <summary>A boolean value.</summary>
    public static CedarValue FromBool(bool value) => value ? BoolValue.True : BoolValue.False;

    /// <summary>A 64-bit integer value.</summary>
    public static CedarValue FromLong(long value) => LongValue.Of(value);

    /// <summary>A string value.</summary>
    public static CedarValue FromString(string value) => new StringValue(value ?? throw new ArgumentNullException(nameof(value)));

    /// <summary>A set value; duplicates are removed.</summary>
    public static CedarValue Set(IEnumerable<CedarValue> items) => SetValue.Create(items ?? throw new ArgumentNullException(nameof(items)));

    /// <summary>A set value; duplicates are removed.</summary>
    public static CedarValue Set(params CedarValue[] items) => SetValue.Create(items);

    /// <summary>A record value. Later duplicates of a key replace earlier ones.</summary>
    public static CedarValue Record(IEnumerable<KeyValuePair<string, CedarValue>> attributes) =>
        RecordValue.Create(attributes ?? throw new ArgumentNullException(nameof(attributes)));

    /// <summary>The empty record.</summary>
    public static CedarValue EmptyRecord => RecordValue.Empty;

    /// <summary>An <c>ip</c> value such as <c>10.0.0.1</c> or <c>10.0.0.0/8</c>.</summary>
    /// <exception cref="FormatException">The text is not a valid Cedar IP address or CIDR range.</exception>
    public static CedarValue Ip(string text) => ParseExtension(ExtensionFunctions.Ip, text);

    /// <summary>A <c>decimal</c> value such as <c>12.3456</c> (up to four fractional digits).</summary>
    /// <exception cref="FormatException">The text is not a valid Cedar decimal.</exception>
    public static CedarValue Decimal(string text) => ParseExtension(ExtensionFunctions.Decimal, text);

    /// <summary>A <c>datetime</c> value such as <c>2024-10-15</c> or <c>2024-10-15T11:35:00Z</c>.</summary>
    /// <exception cref="FormatException">The text is not a valid Cedar datetime.</exception>
    public static CedarValue Datetime(string text) => ParseExtension(ExtensionFunctions.Datetime, text);

    /// <summary>A <c>datetime</c> value for an instant (millisecond precision).</summary>
    public static CedarValue Datetime(DateTimeOffset instant) => new DatetimeValue(instant.ToUnixTimeMilliseconds());

    /// <summary>A <c>duration</c> value such as <c>1h30m</c>.</summary>
    /// <exception cref="FormatException">The text is not a valid Cedar duration.</exception>
    public static CedarValue Duration(string text) => ParseExtension(ExtensionFunctions.Duration, text);

    /// <summary>A <c>duration</c> value for a time span (millisecond precision).</summary>
    public static CedarValue Duration(TimeSpan span) => new DurationValue((long)span.TotalMilliseconds);

    private static CedarValue ParseExtension(Func<string, (CedarValue? Value, string? Error)> parse, string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var (value, error) = parse(text);
        return value ?? throw new FormatException(error);
    }

    /// <inheritdoc />
    public abstract bool Equals(CedarValue? other);

    /// <inheritdoc />
    public override bool Equals(object? obj) => obj is CedarValue v && Equals(v);

    /// <inheritdoc />
    public abstract override int GetHashCode();

    internal static string Quote(string s)
    {
        var sb = new StringBuilder(s.Length + 2);
        sb.Append('"');
        foreach (var c in s)
        {
            switch (c)
            {
                case '"': sb.Append("\\\""); break;
                case '\\': sb.Append("\\\\"); break;
                case '\n': sb.Append("\\n"); break;
                case '\r': sb.Append("\\r"); break;
                case '\t': sb.Append("\\t"); break;
                case '\0': sb.Append("\\0"); break;
                default:
                    if (char.IsControl(c))
                    {
                        sb.Append("\\u{").Append(((int)c).ToString("x", CultureInfo.InvariantCulture)).Append('}');
                    }
                    else
                    {
                        sb.Append(c);
                    }

                    break;
            }
        }

        return sb.Append('"').ToString();
    }

    internal static string TypeName(CedarValue v) => v.Kind switch
    {
        CedarType.Bool => "bool",
        CedarType.Long => "long",
        CedarType.String => "string",
        CedarType.Set => "set",
        CedarType.Record => "record",
        CedarType.Entity => "entity",
        CedarType.IpAddr => "ipaddr",
        CedarType.Decimal => "decimal",
        CedarType.Datetime => "datetime",
        _ => "duration",
    };
}
