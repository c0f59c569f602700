using GrantSilo.Grains.Sessions;
using Microsoft.Extensions.Logging.Abstractions;

namespace GrantSilo.Grains.Tests;

/// <summary>
/// A session's credential index in two durable parts: an issuance writes the small recent part (O(√n) entries, not
/// all n), the recent part is folded into the settled part as it grows, every credential is found in storage after
/// every write (an interrupted fold included), and state written before the recent part existed loads unchanged.
/// </summary>
public class SessionCredentialIndexTests
{
    private static readonly DateTimeOffset T0 = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    private static string Id(int i) => $"c{i:D4}";

    private static (SessionCredentialIndex Index, StoredPart Settled, StoredPart Recent) Open(StoredPart? settled = null, StoredPart? recent = null)
    {
        settled ??= new StoredPart();
        recent ??= new StoredPart();
        settled.Load();
        recent.Load();
        return (new SessionCredentialIndex(settled, recent, "session", () => "s-1", NullLogger.Instance), settled, recent);
    }

    // What a fresh activation would find: both parts read from storage.
    private static SessionCredentialIndex Reopen(StoredPart settled, StoredPart recent) => Open(settled, recent).Index;

    [Fact]
    public async Task Issuing_WritesAboutSqrtNEntriesEach_NotAllOfThem()
    {
        var (index, settled, recent) = Open();
        const int n = 900;
        for (var i = 0; i < n; i++)
        {
            index.Add(Id(i), new SessionCredential("t-1", T0.AddMinutes(5 + i)));
            Assert.True(await index.TryWriteAsync());
        }
        var written = settled.EntriesWritten + recent.EntriesWritten;
        // Whole rewrites would write n(n+1)/2 = 405,450 entries; the two parts write well under a sixth of that.
        Assert.True(written < 60_000, $"{written} entries written for {n} issuances");
        Assert.True(recent.Stored.Count <= (int)Math.Sqrt(2.0 * n) + 1, $"the recent part holds {recent.Stored.Count}");
        Assert.Equal(n, index.Count);
        var reopened = Reopen(settled, recent);
        Assert.Equal(n, reopened.Count);
        Assert.Equal(Enumerable.Range(0, n).Select(Id).Order(StringComparer.Ordinal), reopened.Ids().Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task StateWrittenBeforeTheRecentPart_LoadsAsTheSettledPart()
    {
        // The previous format: one "session-index" state holding every credential; no recent part stored.
        var settled = new StoredPart();
        for (var i = 0; i < 40; i++)
        {
            settled.Stored[Id(i)] = new SessionCredential(i % 2 == 0 ? "t-even" : "t-odd", T0.AddMinutes(40 - i));
        }
        settled.Exists = true;
        var (index, _, recent) = Open(settled);
        Assert.False(recent.Exists);
        Assert.Equal(40, index.Count);
        Assert.True(index.TryGetValue(Id(7), out var seven));
        Assert.Equal("t-odd", seven.TaskId);
        Assert.Equal(T0.AddMinutes(1), index.EarliestExpiry());
        Assert.Equal(20, index.Entries.Count(e => e.Value.TaskId == "t-even"));

        index.Add("c-new", new SessionCredential("t-even", T0.AddMinutes(90)));
        Assert.True(await index.TryWriteAsync());
        Assert.True(index.Remove(Id(39)));
        Assert.True(await index.TryWriteAsync());
        var reopened = Reopen(settled, recent);
        Assert.Equal(40, reopened.Count);
        Assert.True(reopened.TryGetValue("c-new", out _));
        Assert.False(reopened.TryGetValue(Id(39), out _));
        Assert.Equal(T0.AddMinutes(2), reopened.EarliestExpiry());
    }

    [Fact]
    public async Task AnInterruptedFold_LosesNoCredential_AndCountsNoneTwice()
    {
        var (index, settled, recent) = Open();
        // The recent part's write that would empty it after the fold fails (its outcome unknown, storage unchanged).
        for (var i = 0; i < 15; i++)
        {
            index.Add(Id(i), new SessionCredential("t-1", T0.AddMinutes(5)));
            Assert.True(await index.TryWriteAsync());
        }
        index.Add(Id(15), new SessionCredential("t-1", T0.AddMinutes(5)));
        // The 16th fills the recent part: its write succeeds, then the fold's emptying write fails. The credential is
        // durable all the same (the recent part was written first).
        recent.FailWriteNumber = 2;
        Assert.True(await index.TryWriteAsync());
        Assert.Equal(16, settled.Stored.Count);
        Assert.Equal(16, recent.Stored.Count);
        var reopened = Reopen(settled, recent);
        Assert.Equal(16, reopened.Count);
        Assert.Equal(16, reopened.Ids().Count);
        Assert.Equal(16, reopened.Ids().Distinct(StringComparer.Ordinal).Count());
        // Removing one that is in both parts removes it from both.
        Assert.True(reopened.Remove(Id(3)));
        Assert.True(await reopened.TryWriteAsync());
        var again = Reopen(settled, recent);
        Assert.Equal(15, again.Count);
        Assert.False(again.TryGetValue(Id(3), out _));
    }

    [Fact]
    public async Task AFailedWrite_ReportsFailure_AndMemoryMatchesStorageAgain()
    {
        var (index, _, recent) = Open();
        index.Add(Id(1), new SessionCredential("t-1", T0.AddMinutes(5)));
        Assert.True(await index.TryWriteAsync());
        recent.FailNextWrites = 1;
        index.Add(Id(2), new SessionCredential("t-1", T0.AddMinutes(1)));
        Assert.False(await index.TryWriteAsync());
        // Read back: the unwritten credential is gone from memory too, and the earliest expiry is found again.
        Assert.Equal(1, index.Count);
        Assert.False(index.TryGetValue(Id(2), out _));
        Assert.Equal(T0.AddMinutes(5), index.EarliestExpiry());
    }

    [Fact]
    public async Task EarliestExpiry_FollowsAddsAndRemovals()
    {
        var (index, _, _) = Open();
        Assert.Null(index.EarliestExpiry());
        index.Add(Id(1), new SessionCredential("t-1", T0.AddMinutes(10)));
        index.Add(Id(2), new SessionCredential("t-1", T0.AddMinutes(3)));
        index.Add(Id(3), new SessionCredential("t-1", T0.AddMinutes(7)));
        Assert.True(await index.TryWriteAsync());
        Assert.Equal(T0.AddMinutes(3), index.EarliestExpiry());
        index.Add(Id(4), new SessionCredential("t-1", T0.AddMinutes(2)));
        Assert.Equal(T0.AddMinutes(2), index.EarliestExpiry());
        Assert.True(index.Remove(Id(4)));
        Assert.True(index.Remove(Id(2)));
        Assert.Equal(T0.AddMinutes(7), index.EarliestExpiry());
        Assert.False(index.Remove(Id(2)));
        Assert.True(index.Remove(Id(1)));
        Assert.True(index.Remove(Id(3)));
        Assert.Null(index.EarliestExpiry());
    }

    [Fact]
    public void Reaches_CountsEachCredentialOnce()
    {
        var settled = new StoredPart { Exists = true };
        var recent = new StoredPart { Exists = true };
        settled.Stored[Id(1)] = new SessionCredential("t-1", T0);
        settled.Stored[Id(2)] = new SessionCredential("t-1", T0);
        recent.Stored[Id(2)] = new SessionCredential("t-1", T0);
        recent.Stored[Id(3)] = new SessionCredential("t-1", T0);
        var (index, _, _) = Open(settled, recent);
        Assert.Equal(3, index.Count);
        Assert.True(index.Reaches(3));
        Assert.False(index.Reaches(4));
    }

    [Fact]
    public async Task OfTask_ListsATasksCredentials_ThroughAddsFoldsRemovalsAndAReadBack()
    {
        var settled = new StoredPart { Exists = true };
        for (var i = 0; i < 30; i++)
        {
            settled.Stored[Id(i)] = new SessionCredential($"t-{i % 3}", T0.AddMinutes(30));
        }
        var (index, _, recent) = Open(settled);
        Assert.Equal(Enumerable.Range(0, 30).Where(i => i % 3 == 1).Select(Id), index.OfTask("t-1").Order(StringComparer.Ordinal));
        Assert.Empty(index.OfTask("t-unknown"));

        // Added after the lookup was built (the recent part), then folded into the settled part by later writes.
        index.Add("c-new-1", new SessionCredential("t-1", T0.AddMinutes(30)));
        Assert.True(await index.TryWriteAsync());
        Assert.Contains("c-new-1", index.OfTask("t-1"));
        for (var i = 0; i < 20; i++)
        {
            index.Add($"c-fill-{i:D2}", new SessionCredential("t-fill", T0.AddMinutes(30)));
            Assert.True(await index.TryWriteAsync());
        }
        Assert.False(recent.Stored.ContainsKey("c-new-1"));
        Assert.Equal(11, index.OfTask("t-1").Count);
        Assert.Equal(20, index.OfTask("t-fill").Count);

        // Removed: no longer listed; the task's last credential gone, the task is not listed at all.
        Assert.True(index.Remove(Id(1)));
        Assert.DoesNotContain(Id(1), index.OfTask("t-1"));
        foreach (var id in index.OfTask("t-2"))
        {
            Assert.True(index.Remove(id));
        }
        Assert.Empty(index.OfTask("t-2"));

        // A failed write reads both parts back: what storage still holds is listed again.
        recent.FailNextWrites = 1;
        index.Add("c-lost", new SessionCredential("t-1", T0.AddMinutes(30)));
        Assert.False(await index.TryWriteAsync());
        var afterReadBack = index.OfTask("t-1");
        Assert.DoesNotContain("c-lost", afterReadBack);
        Assert.Equal(index.Entries.Where(e => e.Value.TaskId == "t-1").Select(e => e.Key).Order(StringComparer.Ordinal), afterReadBack.Order(StringComparer.Ordinal));
        Assert.Equal(index.Entries.Count(e => e.Value.TaskId == "t-2"), index.OfTask("t-2").Count);
    }

    [Fact]
    public async Task Compaction_IsOwedFromLoadingOrAFailedWrite_UntilItRan()
    {
        var interval = TimeSpan.FromMinutes(1);
        var (index, _, recent) = Open();
        // Loaded from storage: removals may have been lost before.
        Assert.True(index.QuotaCompaction.Due(T0, interval));
        index.QuotaCompaction.Ran(T0);
        Assert.False(index.QuotaCompaction.Due(T0, interval));
        index.Add(Id(1), new SessionCredential("t-1", T0.AddMinutes(5)));
        Assert.True(await index.TryWriteAsync());
        Assert.True(index.Remove(Id(1)));
        Assert.True(await index.TryWriteAsync());
        Assert.False(index.QuotaCompaction.Due(T0, interval));
        // A failed write reads the index back, bringing back what it had removed.
        index.Add(Id(2), new SessionCredential("t-1", T0.AddMinutes(5)));
        Assert.True(await index.TryWriteAsync());
        Assert.True(index.Remove(Id(2)));
        recent.FailNextWrites = 1;
        Assert.False(await index.TryWriteAsync());
        Assert.True(index.TryGetValue(Id(2), out _));
        Assert.True(index.QuotaCompaction.Due(T0, interval));
    }

    /// <summary>One persistent state over a stored copy: a write stores a copy, a read replaces the state's object.</summary>
    private sealed class StoredPart : IPersistentState<SessionIndexState>
    {
        public Dictionary<string, SessionCredential> Stored { get; } = new(StringComparer.Ordinal);

        public bool Exists { get; set; }

        public long EntriesWritten { get; private set; }

        /// <summary>Writes to fail before any succeeds.</summary>
        public int FailNextWrites { get; set; }

        /// <summary>Which write from now fails (1: the next; 0: none fails this way).</summary>
        public int FailWriteNumber { get; set; }

        public SessionIndexState State { get; set; } = new();

        public string? Etag { get; private set; }

        public bool RecordExists => Exists;

        public void Load() => State = new SessionIndexState { Credentials = new Dictionary<string, SessionCredential>(Stored, StringComparer.Ordinal) };

        public Task ClearStateAsync()
        {
            Stored.Clear();
            Exists = false;
            return Task.CompletedTask;
        }

        public Task WriteStateAsync()
        {
            if (FailNextWrites > 0)
            {
                FailNextWrites--;
                throw new InvalidOperationException("storage unavailable");
            }
            if (FailWriteNumber > 0 && --FailWriteNumber == 0)
            {
                throw new InvalidOperationException("storage unavailable");
            }
            Stored.Clear();
            foreach (var (id, credential) in State.Credentials)
            {
                Stored[id] = credential;
            }
            EntriesWritten += State.Credentials.Count;
            Exists = true;
            Etag = Guid.NewGuid().ToString("N");
            return Task.CompletedTask;
        }

        public Task ReadStateAsync()
        {
            Load();
            return Task.CompletedTask;
        }
    }
}
