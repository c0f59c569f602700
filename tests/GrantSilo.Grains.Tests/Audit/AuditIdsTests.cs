using GrantSilo.Grains.Audit;
using Microsoft.Extensions.Time.Testing;

namespace GrantSilo.Grains.Tests.Audit;

/// <summary>Record ids: UUID version 7 (time first, then random bits), distinct, and ordered by the time they were made.</summary>
public sealed class AuditIdsTests
{
    [Fact]
    public void Ids_AreVersion7Uuids_DistinctAcrossThreads_AndSortByTime()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 11, 27, 3, 0, 0, TimeSpan.Zero));
        var first = AuditIds.New(time);
        time.Advance(TimeSpan.FromMilliseconds(1));
        var later = AuditIds.New(time);
        Assert.True(string.CompareOrdinal(first, later) < 0);

        var guid = Guid.ParseExact(first, "N");
        Assert.Equal(7, guid.Version);
        Assert.Equal(0b10, guid.Variant >> 2);
        Assert.Matches("^[0-9a-f]{32}$", first);
        // The first 48 bits are the time, in milliseconds since 1970.
        Assert.Equal(time.GetUtcNow().AddMilliseconds(-1).ToUnixTimeMilliseconds(), Convert.ToInt64(first[..12], 16));

        // Many ids in the same millisecond, on several threads (each drawing its own random bits): none repeats.
        var ids = new System.Collections.Concurrent.ConcurrentBag<string>();
        Parallel.For(0, 8, _ =>
        {
            for (var i = 0; i < 5_000; i++)
            {
                ids.Add(AuditIds.New(time));
            }
        });
        Assert.Equal(ids.Count, ids.Distinct().Count());
        Assert.All(ids, id => Assert.Equal(7, Guid.ParseExact(id, "N").Version));
    }
}
