using System.Globalization;
using System.Net;

namespace GrantSilo.Cedar.Values;

/// <summary>An IPv4 or IPv6 address with a prefix length; host bits are kept as written.</summary>
internal sealed class IpValue(bool isV4, UInt128 address, int prefix) : CedarValue
{
    public bool IsV4 { get; } = isV4;

    public UInt128 Address { get; } = address;

    public int Prefix { get; } = prefix;

    public override CedarType Kind => CedarType.IpAddr;

    private int Width => IsV4 ? 32 : 128;

    public bool IsLoopback => IsV4
        ? (Address >> 24) == 127 && Prefix >= 8
        : Address == UInt128.One && Prefix >= 128;

    public bool IsMulticast => IsV4
        ? (Address >> 28) == 0xE && Prefix >= 4
        : (Address >> 120) == 0xFF && Prefix >= 8;

    public bool IsInRange(IpValue other)
    {
        if (IsV4 != other.IsV4)
        {
            return false;
        }

        var selfNet = Address & NetMask(Prefix);
        var otherNet = other.Address & NetMask(other.Prefix);
        var selfBroadcast = Address | HostMask(Prefix);
        var otherBroadcast = other.Address | HostMask(other.Prefix);
        return otherNet <= selfNet && selfBroadcast <= otherBroadcast;
    }

    private UInt128 AllOnes => IsV4 ? uint.MaxValue : UInt128.MaxValue;

    private UInt128 HostMask(int prefix) => prefix >= Width ? UInt128.Zero : AllOnes >> prefix;

    private UInt128 NetMask(int prefix) => AllOnes & ~HostMask(prefix);

    public override bool Equals(CedarValue? other) =>
        other is IpValue ip && ip.IsV4 == IsV4 && ip.Address == Address && ip.Prefix == Prefix;

    public override int GetHashCode() => HashCode.Combine(IsV4, Address, Prefix);

    public override string ToString()
    {
        string addr;
        if (IsV4)
        {
            var v = (uint)Address;
            addr = string.Create(CultureInfo.InvariantCulture, $"{v >> 24}.{(v >> 16) & 0xFF}.{(v >> 8) & 0xFF}.{v & 0xFF}");
        }
        else
        {
            var bytes = new byte[16];
            for (var i = 0; i < 16; i++)
            {
                bytes[i] = (byte)(Address >> (8 * (15 - i)));
            }

            addr = new IPAddress(bytes).ToString();
        }

        return "ip(\"" + addr + "/" + Prefix.ToString(CultureInfo.InvariantCulture) + "\")";
    }
}

/// <summary>A fixed-point decimal with four fractional digits, stored scaled by 10^4.</summary>
internal sealed class DecimalValue(long scaled) : CedarValue
{
    public long Scaled { get; } = scaled;

    public override CedarType Kind => CedarType.Decimal;

    public override bool Equals(CedarValue? other) => other is DecimalValue d && d.Scaled == Scaled;

    public override int GetHashCode() => Scaled.GetHashCode();

    public override string ToString()
    {
        var abs = Int128.Abs(Scaled);
        var sign = Scaled < 0 ? "-" : string.Empty;
        return string.Create(CultureInfo.InvariantCulture, $"decimal(\"{sign}{abs / 10000}.{abs % 10000:D4}\")");
    }
}

/// <summary>An instant as milliseconds since the Unix epoch.</summary>
internal sealed class DatetimeValue(long epochMilliseconds) : CedarValue
{
    public long EpochMilliseconds { get; } = epochMilliseconds;

    public override CedarType Kind => CedarType.Datetime;

    public override bool Equals(CedarValue? other) => other is DatetimeValue d && d.EpochMilliseconds == EpochMilliseconds;

    public override int GetHashCode() => EpochMilliseconds.GetHashCode() ^ 0x3c;

    public override string ToString() =>
        string.Create(CultureInfo.InvariantCulture, $"datetime(\"1970-01-01\").offset(duration(\"{EpochMilliseconds}ms\"))");
}

/// <summary>A signed duration in milliseconds.</summary>
internal sealed class DurationValue(long milliseconds) : CedarValue
{
    public long Milliseconds { get; } = milliseconds;

    public override CedarType Kind => CedarType.Duration;

    public override bool Equals(CedarValue? other) => other is DurationValue d && d.Milliseconds == Milliseconds;

    public override int GetHashCode() => Milliseconds.GetHashCode() ^ 0x5d;

    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"duration(\"{Milliseconds}ms\")");
}
