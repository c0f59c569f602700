using System.Collections.Concurrent;

namespace GrantSilo.Grains.Tests;

/// <summary>
/// An in-memory reminder table whose writes for chosen grains fail on demand, as they do while the
/// silo that owns a grain's reminders has died and is not yet declared dead.
/// </summary>
internal sealed class FlakyReminderTable : IReminderTable
{
    /// <summary>Grain keys whose reminder writes fail.</summary>
    public static readonly ConcurrentDictionary<string, bool> FailingKeys = new();

    private readonly ConcurrentDictionary<(GrainId Grain, string Name), ReminderEntry> _rows = new();
    private long _etag;

    /// <summary>The stored row, if any (for assertions).</summary>
    public static FlakyReminderTable? Instance { get; private set; }

    public FlakyReminderTable() => Instance = this;

    public ReminderEntry? Row(GrainId grain, string name) => _rows.TryGetValue((grain, name), out var row) ? row : null;

    public Task<ReminderTableData> ReadRows(GrainId grainId) =>
        Task.FromResult(new ReminderTableData(_rows.Values.Where(r => r.GrainId == grainId).ToList()));

    public Task<ReminderTableData> ReadRows(uint begin, uint end) =>
        Task.FromResult(new ReminderTableData(_rows.Values.Where(r => InRange(r.GrainId.GetUniformHashCode(), begin, end)).ToList()));

    public Task<ReminderEntry?> ReadRow(GrainId grainId, string reminderName) =>
        Task.FromResult(_rows.TryGetValue((grainId, reminderName), out var row) ? row : null);

    public Task<string?> UpsertRow(ReminderEntry entry)
    {
        if (FailingKeys.ContainsKey(entry.GrainId.Key.ToString()!))
        {
            throw new TimeoutException($"Injected reminder write failure for {entry.GrainId}.");
        }
        var etag = Interlocked.Increment(ref _etag).ToString(System.Globalization.CultureInfo.InvariantCulture);
        _rows[(entry.GrainId, entry.ReminderName)] = new ReminderEntry
        {
            GrainId = entry.GrainId,
            ReminderName = entry.ReminderName,
            StartAt = entry.StartAt,
            Period = entry.Period,
            ETag = etag,
        };
        return Task.FromResult<string?>(etag);
    }

    public Task<bool> RemoveRow(GrainId grainId, string reminderName, string eTag)
    {
        if (FailingKeys.ContainsKey(grainId.Key.ToString()!))
        {
            throw new TimeoutException($"Injected reminder write failure for {grainId}.");
        }
        return Task.FromResult(_rows.TryGetValue((grainId, reminderName), out var row) && row.ETag == eTag && _rows.TryRemove((grainId, reminderName), out _));
    }

    public Task TestOnlyClearTable()
    {
        _rows.Clear();
        return Task.CompletedTask;
    }

    // (begin, end] on the ring; when begin >= end the range wraps past uint.MaxValue back to 0.
    private static bool InRange(uint hash, uint begin, uint end) =>
        begin < end ? hash > begin && hash <= end : hash > begin || hash <= end;
}
