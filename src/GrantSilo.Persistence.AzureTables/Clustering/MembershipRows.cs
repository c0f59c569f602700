using System.Globalization;
using System.Text;
using Azure.Data.Tables;
using GrantSilo.Persistence.AzureTables.Internal;
using Orleans;
using Orleans.Runtime;

namespace GrantSilo.Persistence.AzureTables.Clustering;

/// <summary>
/// The rows of one cluster's partition in the membership table: a version row that sorts first, one row per silo, and
/// a fence row that sorts last. Every membership change rewrites the version and fence rows in the same entity group
/// transaction, so a read that spans several pages can tell whether a change committed in between.
/// </summary>
internal static class MembershipRows
{
    public const string VersionRowKey = "!version";
    public const string FenceRowKey = "~fence";

    public const string VersionProperty = "Version";
    public const string WriteIdProperty = "WriteId";
    public const string SiloAddressProperty = "SiloAddress";
    public const string StatusProperty = "Status";
    public const string ProxyPortProperty = "ProxyPort";
    public const string HostNameProperty = "HostName";
    public const string SiloNameProperty = "SiloName";
    public const string RoleNameProperty = "RoleName";
    public const string UpdateZoneProperty = "UpdateZone";
    public const string FaultZoneProperty = "FaultZone";
    public const string StartTimeProperty = "StartTimeTicks";
    public const string IAmAliveTimeProperty = "IAmAliveTimeTicks";
    public const string SuspectTimesProperty = "SuspectTimes";

    public static bool IsSiloRow(string rowKey) => rowKey is not VersionRowKey and not FenceRowKey;

    public static string PartitionKey(string servicePrefix, string clusterId) => TableKeys.Compose(servicePrefix, clusterId);

    public static string RowKey(SiloAddress siloAddress) => TableKeys.Compose(siloAddress.ToParsableString());

    public static TableEntity VersionRow(string partitionKey, int version, string writeId) => new(partitionKey, VersionRowKey)
    {
        [VersionProperty] = version,
        [WriteIdProperty] = writeId,
    };

    public static TableEntity FenceRow(string partitionKey, int version) => new(partitionKey, FenceRowKey)
    {
        [VersionProperty] = version,
    };

    public static TableEntity ToEntity(string partitionKey, MembershipEntry entry, string writeId)
    {
        var entity = new TableEntity(partitionKey, RowKey(entry.SiloAddress))
        {
            [SiloAddressProperty] = entry.SiloAddress.ToParsableString(),
            [StatusProperty] = entry.Status.ToString(),
            [ProxyPortProperty] = entry.ProxyPort,
            [HostNameProperty] = entry.HostName,
            [SiloNameProperty] = entry.SiloName,
            [RoleNameProperty] = entry.RoleName,
            [UpdateZoneProperty] = entry.UpdateZone,
            [FaultZoneProperty] = entry.FaultZone,
            [StartTimeProperty] = ToUtcTicks(entry.StartTime),
            [IAmAliveTimeProperty] = ToUtcTicks(entry.IAmAliveTime),
            [SuspectTimesProperty] = FormatSuspectTimes(entry.SuspectTimes),
            [WriteIdProperty] = writeId,
        };
        return entity;
    }

    public static MembershipEntry ToEntry(TableEntity entity)
    {
        var entry = new MembershipEntry
        {
            SiloAddress = SiloAddress.FromParsableString(entity.GetString(SiloAddressProperty)),
            Status = Enum.Parse<SiloStatus>(entity.GetString(StatusProperty)),
            ProxyPort = entity.GetInt32(ProxyPortProperty) ?? 0,
            HostName = entity.GetString(HostNameProperty) ?? string.Empty,
            SiloName = entity.GetString(SiloNameProperty) ?? string.Empty,
            RoleName = entity.GetString(RoleNameProperty),
            UpdateZone = entity.GetInt32(UpdateZoneProperty) ?? 0,
            FaultZone = entity.GetInt32(FaultZoneProperty) ?? 0,
            StartTime = FromTicks(entity.GetInt64(StartTimeProperty)),
            IAmAliveTime = FromTicks(entity.GetInt64(IAmAliveTimeProperty)),
        };

        var suspects = entity.GetString(SuspectTimesProperty);
        if (!string.IsNullOrEmpty(suspects))
        {
            foreach (var vote in suspects.Split(';'))
            {
                var comma = vote.LastIndexOf(',');
                entry.AddSuspector(
                    SiloAddress.FromParsableString(vote[..comma]),
                    FromTicks(long.Parse(vote.AsSpan(comma + 1), NumberStyles.Integer, CultureInfo.InvariantCulture)));
            }
        }

        return entry;
    }

    /// <summary>The last time anything was heard of or about the silo: start, I-am-alive, or a suspicion vote.</summary>
    public static DateTime LastUpdate(MembershipEntry entry)
    {
        var latest = entry.StartTime > entry.IAmAliveTime ? entry.StartTime : entry.IAmAliveTime;
        foreach (var vote in entry.SuspectTimes ?? [])
        {
            if (vote.Item2 > latest)
            {
                latest = vote.Item2;
            }
        }

        return DateTime.SpecifyKind(latest, DateTimeKind.Utc);
    }

    public static long ToUtcTicks(DateTime value) => value.Kind == DateTimeKind.Local ? value.ToUniversalTime().Ticks : value.Ticks;

    private static DateTime FromTicks(long? ticks) => new(ticks ?? 0, DateTimeKind.Utc);

    private static string FormatSuspectTimes(List<Tuple<SiloAddress, DateTime>>? votes)
    {
        if (votes is null || votes.Count == 0)
        {
            return string.Empty;
        }

        var builder = new StringBuilder();
        foreach (var (silo, time) in votes)
        {
            if (builder.Length > 0)
            {
                builder.Append(';');
            }

            builder.Append(silo.ToParsableString()).Append(',').Append(ToUtcTicks(time).ToString(CultureInfo.InvariantCulture));
        }

        return builder.ToString();
    }
}
