using System.Collections.Frozen;
using System.Text;

namespace GrantSilo.Cedar.Values;

internal delegate CedarValue? ExtensionInvoker(CedarValue receiver, CedarValue? argument, out string? error);

/// <summary>An extension function or method; <see cref="Arity"/> counts the receiver of a method.</summary>
internal sealed record ExtensionFunction(string Name, bool IsMethod, int Arity, ExtensionInvoker Invoke);

/// <summary>Cedar's extension types (ip, decimal, datetime, duration): parsing and functions.</summary>
internal static class ExtensionFunctions
{
    private const long DayMs = 86_400_000;

    public static readonly FrozenDictionary<string, ExtensionFunction> All = new ExtensionFunction[]
    {
        Constructor("ip", Ip),
        Constructor("decimal", Decimal),
        Constructor("datetime", Datetime),
        Constructor("duration", Duration),
        IpPredicate("isIpv4", ip => ip.IsV4),
        IpPredicate("isIpv6", ip => !ip.IsV4),
        IpPredicate("isLoopback", ip => ip.IsLoopback),
        IpPredicate("isMulticast", ip => ip.IsMulticast),
        new("isInRange", true, 2, IsInRange),
        DecimalCompare("lessThan", (a, b) => a < b),
        DecimalCompare("lessThanOrEqual", (a, b) => a <= b),
        DecimalCompare("greaterThan", (a, b) => a > b),
        DecimalCompare("greaterThanOrEqual", (a, b) => a >= b),
        new("offset", true, 2, Offset),
        new("durationSince", true, 2, DurationSince),
        new("toDate", true, 1, ToDate),
        new("toTime", true, 1, ToTime),
        DurationToLong("toMilliseconds", 1),
        DurationToLong("toSeconds", 1000),
        DurationToLong("toMinutes", 60_000),
        DurationToLong("toHours", 3_600_000),
        DurationToLong("toDays", DayMs),
    }.ToFrozenDictionary(f => f.Name, StringComparer.Ordinal);

    public static (CedarValue? Value, string? Error) Ip(string s)
    {
        if (Encoding.UTF8.GetByteCount(s) > 43)
        {
            return (null, $"invalid IP address `{s}`: too long");
        }

        if (CountAtLeastTwo(s, ':') && CountAtLeastTwo(s, '.'))
        {
            return (null, $"invalid IP address `{s}`: IPv4 embedded in IPv6 is not accepted");
        }

        var slash = s.IndexOf('/', StringComparison.Ordinal);
        var addrText = slash < 0 ? s : s[..slash];
        bool v4;
        UInt128 addr;
        if (TryParseIpv4(addrText, out var a4))
        {
            v4 = true;
            addr = a4;
        }
        else if (TryParseIpv6(addrText, out var a6))
        {
            v4 = false;
            addr = a6;
        }
        else
        {
            return (null, $"invalid IP address `{s}`");
        }

        var max = v4 ? 32 : 128;
        var prefix = max;
        if (slash >= 0)
        {
            var p = s[(slash + 1)..];
            if (p.Length == 0 || p.Length > (v4 ? 2 : 3) || !p.All(char.IsAsciiDigit) || (p[0] == '0' && p.Length > 1))
            {
                return (null, $"invalid IP prefix in `{s}`");
            }

            prefix = int.Parse(p, System.Globalization.CultureInfo.InvariantCulture);
            if (prefix > max)
            {
                return (null, $"invalid IP prefix in `{s}`: larger than {max}");
            }
        }

        return (new IpValue(v4, addr, prefix), null);
    }

    public static (CedarValue? Value, string? Error) Decimal(string s)
    {
        var error = $"`{s}` is not a well-formed decimal value";
        var i = 0;
        var negative = s.StartsWith('-');
        if (negative)
        {
            i++;
        }

        var intStart = i;
        while (i < s.Length && char.IsAsciiDigit(s[i]))
        {
            i++;
        }

        if (i == intStart || i >= s.Length || s[i] != '.')
        {
            return (null, error);
        }

        var intPart = s[intStart..i];
        var frac = s[(i + 1)..];
        if (frac.Length == 0 || !frac.All(char.IsAsciiDigit))
        {
            return (null, error);
        }

        if (frac.Length > 4)
        {
            return (null, $"too many digits after the decimal in `{s}`");
        }

        if (intPart.Length > 30)
        {
            return (null, "overflow when converting to decimal");
        }

        var l = Int128.Parse(intPart, System.Globalization.CultureInfo.InvariantCulture);
        var signedL = negative ? -l : l;
        if (signedL < long.MinValue || signedL > long.MaxValue)
        {
            return (null, "overflow when converting to decimal");
        }

        var r = Int128.Parse(frac, System.Globalization.CultureInfo.InvariantCulture);
        for (var k = frac.Length; k < 4; k++)
        {
            r *= 10;
        }

        var value = signedL * 10000 + (negative ? -r : r);
        return value < long.MinValue || value > long.MaxValue
            ? (null, "overflow when converting to decimal")
            : (new DecimalValue((long)value), null);
    }

    public static (CedarValue? Value, string? Error) Datetime(string s)
    {
        var error = $"invalid datetime `{s}`";
        if (s.Length < 10 || !Digits(s, 0, 4) || s[4] != '-' || !Digits(s, 5, 2) || s[7] != '-' || !Digits(s, 8, 2))
        {
            return (null, error);
        }

        var year = Num(s, 0, 4);
        var month = Num(s, 5, 2);
        var day = Num(s, 8, 2);
        if (month is < 1 or > 12 || day < 1 || day > DaysInMonth(year, month))
        {
            return (null, error);
        }

        var days = DaysFromCivil(year, month, day);
        if (s.Length == 10)
        {
            return (new DatetimeValue(days * DayMs), null);
        }

        if (s.Length < 19 || s[10] != 'T' || !Digits(s, 11, 2) || s[13] != ':' || !Digits(s, 14, 2) || s[16] != ':' || !Digits(s, 17, 2))
        {
            return (null, error);
        }

        long h = Num(s, 11, 2), m = Num(s, 14, 2), sec = Num(s, 17, 2);
        var rest = s.AsSpan(19);
        long ms = 0;
        if (rest.Length > 0 && rest[0] == '.')
        {
            if (rest.Length < 4 || !Digits(s, 20, 3))
            {
                return (null, error);
            }

            ms = Num(s, 20, 3);
            rest = rest[4..];
        }

        long offsetSeconds = 0;
        if (rest.Length == 1 && rest[0] == 'Z')
        {
            // UTC
        }
        else if (rest.Length == 5 && (rest[0] == '+' || rest[0] == '-') && char.IsAsciiDigit(rest[1]) && char.IsAsciiDigit(rest[2]) && char.IsAsciiDigit(rest[3]) && char.IsAsciiDigit(rest[4]))
        {
            var oh = (rest[1] - '0') * 10 + (rest[2] - '0');
            var om = (rest[3] - '0') * 10 + (rest[4] - '0');
            if (h >= 24 || m >= 60 || sec >= 60)
            {
                return (null, error);
            }

            if (oh >= 24 || om >= 60)
            {
                return (null, $"invalid offset in datetime `{s}`");
            }

            offsetSeconds = (oh * 3600 + om * 60) * (rest[0] == '+' ? 1 : -1);
        }
        else
        {
            return (null, error);
        }

        if (h >= 24 || m >= 60 || sec >= 60)
        {
            return (null, error);
        }

        var epoch = days * DayMs + h * 3_600_000 + m * 60_000 + sec * 1000 + ms - offsetSeconds * 1000;
        return (new DatetimeValue(epoch), null);
    }

    public static (CedarValue? Value, string? Error) Duration(string s)
    {
        var error = $"invalid duration `{s}`";
        if (s.Length == 0 || s == "-")
        {
            return (null, error);
        }

        var negative = s[0] == '-';
        var i = negative ? 1 : 0;
        Int128 total = 0;
        var lastUnit = -1;
        while (i < s.Length)
        {
            var start = i;
            while (i < s.Length && char.IsAsciiDigit(s[i]))
            {
                i++;
            }

            if (i == start || i >= s.Length)
            {
                return (null, error);
            }

            int unit;
            long factor;
            if (s[i] == 'm' && i + 1 < s.Length && s[i + 1] == 's')
            {
                unit = 4;
                factor = 1;
                i += 2;
            }
            else
            {
                (unit, factor) = s[i] switch
                {
                    'd' => (0, DayMs),
                    'h' => (1, 3_600_000L),
                    'm' => (2, 60_000L),
                    's' => (3, 1000L),
                    _ => (-1, 0L),
                };
                i++;
            }

            if (unit <= lastUnit)
            {
                return (null, error);
            }

            lastUnit = unit;
            if (!ulong.TryParse(s.AsSpan(start, i - start - (unit == 4 ? 2 : 1)), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var n))
            {
                return (null, "duration overflows internal representation");
            }

            if (n > long.MaxValue && !(unit == 4 && negative && n == (ulong)long.MaxValue + 1))
            {
                return (null, "duration overflows internal representation");
            }

            total += (Int128)n * factor;
        }

        if (negative)
        {
            total = -total;
        }

        return total < long.MinValue || total > long.MaxValue
            ? (null, "duration overflows internal representation")
            : (new DurationValue((long)total), null);
    }

    private static ExtensionFunction Constructor(string name, Func<string, (CedarValue? Value, string? Error)> parse) =>
        new(name, false, 1, (CedarValue arg, CedarValue? _, out string? error) =>
        {
            if (arg is not StringValue s)
            {
                error = $"type error: `{name}` expects a string, got {CedarValue.TypeName(arg)}";
                return null;
            }

            var (v, e) = parse(s.Value);
            error = e;
            return v;
        });

    private static ExtensionFunction IpPredicate(string name, Func<IpValue, bool> predicate) =>
        new(name, true, 1, (CedarValue arg, CedarValue? _, out string? error) =>
        {
            if (arg is not IpValue ip)
            {
                error = TypeError(name, "ipaddr", arg);
                return null;
            }

            error = null;
            return BoolValue.Of(predicate(ip));
        });

    private static CedarValue? IsInRange(CedarValue a, CedarValue? b, out string? error)
    {
        if (a is not IpValue x || b is not IpValue y)
        {
            error = TypeError("isInRange", "ipaddr", a is IpValue ? b! : a);
            return null;
        }

        error = null;
        return BoolValue.Of(x.IsInRange(y));
    }

    private static ExtensionFunction DecimalCompare(string name, Func<long, long, bool> compare) =>
        new(name, true, 2, (CedarValue a, CedarValue? b, out string? error) =>
        {
            if (a is not DecimalValue x || b is not DecimalValue y)
            {
                error = TypeError(name, "decimal", a is DecimalValue ? b! : a);
                return null;
            }

            error = null;
            return BoolValue.Of(compare(x.Scaled, y.Scaled));
        });

    private static CedarValue? Offset(CedarValue a, CedarValue? b, out string? error)
    {
        if (a is not DatetimeValue dt || b is not DurationValue d)
        {
            error = TypeError("offset", a is DatetimeValue ? "duration" : "datetime", a is DatetimeValue ? b! : a);
            return null;
        }

        try
        {
            error = null;
            return new DatetimeValue(checked(dt.EpochMilliseconds + d.Milliseconds));
        }
        catch (OverflowException)
        {
            error = "overflow when adding an offset to a datetime";
            return null;
        }
    }

    private static CedarValue? DurationSince(CedarValue a, CedarValue? b, out string? error)
    {
        if (a is not DatetimeValue x || b is not DatetimeValue y)
        {
            error = TypeError("durationSince", "datetime", a is DatetimeValue ? b! : a);
            return null;
        }

        var diff = (Int128)x.EpochMilliseconds - y.EpochMilliseconds;
        if (diff < long.MinValue || diff > long.MaxValue)
        {
            error = "overflow when computing durationSince";
            return null;
        }

        error = null;
        return new DurationValue((long)diff);
    }

    private static CedarValue? ToDate(CedarValue a, CedarValue? b, out string? error)
    {
        if (a is not DatetimeValue x)
        {
            error = TypeError("toDate", "datetime", a);
            return null;
        }

        var rem = ((x.EpochMilliseconds % DayMs) + DayMs) % DayMs;
        var result = (Int128)x.EpochMilliseconds - rem;
        if (result < long.MinValue)
        {
            error = "overflow when computing toDate";
            return null;
        }

        error = null;
        return new DatetimeValue((long)result);
    }

    private static CedarValue? ToTime(CedarValue a, CedarValue? b, out string? error)
    {
        if (a is not DatetimeValue x)
        {
            error = TypeError("toTime", "datetime", a);
            return null;
        }

        error = null;
        return new DurationValue(((x.EpochMilliseconds % DayMs) + DayMs) % DayMs);
    }

    private static ExtensionFunction DurationToLong(string name, long divisor) =>
        new(name, true, 1, (CedarValue a, CedarValue? _, out string? error) =>
        {
            if (a is not DurationValue d)
            {
                error = TypeError(name, "duration", a);
                return null;
            }

            error = null;
            return LongValue.Of(d.Milliseconds / divisor);
        });

    private static string TypeError(string function, string expected, CedarValue actual) =>
        $"type error: `{function}` expects {expected}, got {CedarValue.TypeName(actual)}";

    private static bool CountAtLeastTwo(string s, char c)
    {
        var first = s.IndexOf(c, StringComparison.Ordinal);
        return first >= 0 && s.IndexOf(c, first + 1) >= 0;
    }

    private static bool TryParseIpv4(string s, out UInt128 address)
    {
        address = 0;
        uint value = 0;
        var parts = s.Split('.');
        if (parts.Length != 4)
        {
            return false;
        }

        foreach (var p in parts)
        {
            if (p.Length is 0 or > 3 || !p.All(char.IsAsciiDigit) || (p.Length > 1 && p[0] == '0'))
            {
                return false;
            }

            var octet = int.Parse(p, System.Globalization.CultureInfo.InvariantCulture);
            if (octet > 255)
            {
                return false;
            }

            value = (value << 8) | (uint)octet;
        }

        address = value;
        return true;
    }

    private static bool TryParseIpv6(string s, out UInt128 address)
    {
        address = 0;
        var pos = 0;
        Span<ushort> head = stackalloc ushort[8];
        var headCount = ReadGroups(s, ref pos, head, 8);
        if (headCount == 8)
        {
            if (pos != s.Length)
            {
                return false;
            }

            address = Combine(head, 8, [], 0);
            return true;
        }

        if (pos + 1 >= s.Length || s[pos] != ':' || s[pos + 1] != ':')
        {
            return false;
        }

        pos += 2;
        Span<ushort> tail = stackalloc ushort[8];
        var tailCount = ReadGroups(s, ref pos, tail, 8 - (headCount + 1));
        if (pos != s.Length)
        {
            return false;
        }

        address = Combine(head, headCount, tail, tailCount);
        return true;
    }

    private static UInt128 Combine(ReadOnlySpan<ushort> head, int headCount, ReadOnlySpan<ushort> tail, int tailCount)
    {
        Span<ushort> groups = stackalloc ushort[8];
        head[..headCount].CopyTo(groups);
        tail[..tailCount].CopyTo(groups[(8 - tailCount)..]);
        UInt128 a = 0;
        foreach (var g in groups)
        {
            a = (a << 16) | g;
        }

        return a;
    }

    private static int ReadGroups(string s, ref int pos, Span<ushort> groups, int limit)
    {
        for (var i = 0; i < limit; i++)
        {
            var p = pos;
            if (i > 0)
            {
                if (p >= s.Length || s[p] != ':')
                {
                    return i;
                }

                p++;
            }

            var start = p;
            var value = 0;
            while (p < s.Length && p - start < 4 && char.IsAsciiHexDigit(s[p]))
            {
                value = (value << 4) | (char.IsAsciiDigit(s[p]) ? s[p] - '0' : (s[p] | 0x20) - 'a' + 10);
                p++;
            }

            if (p == start)
            {
                return i;
            }

            groups[i] = (ushort)value;
            pos = p;
        }

        return limit;
    }

    private static bool Digits(string s, int start, int count)
    {
        if (start + count > s.Length)
        {
            return false;
        }

        for (var i = start; i < start + count; i++)
        {
            if (!char.IsAsciiDigit(s[i]))
            {
                return false;
            }
        }

        return true;
    }

    private static int Num(string s, int start, int count)
    {
        var n = 0;
        for (var i = start; i < start + count; i++)
        {
            n = n * 10 + (s[i] - '0');
        }

        return n;
    }

    private static int DaysInMonth(int year, int month) => month switch
    {
        2 => (year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)) ? 29 : 28,
        4 or 6 or 9 or 11 => 30,
        _ => 31,
    };

    // Days since 1970-01-01 in the proleptic Gregorian calendar (H. Hinnant's civil algorithm).
    private static long DaysFromCivil(long y, long m, long d)
    {
        y -= m <= 2 ? 1 : 0;
        var era = (y >= 0 ? y : y - 399) / 400;
        var yoe = y - era * 400;
        var doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
        var doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        return era * 146097 + doe - 719468;
    }
}
