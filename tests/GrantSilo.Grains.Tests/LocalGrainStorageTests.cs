using GrantSilo.Grains.Hosting;
using GrantSilo.Grains.Sessions;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Serialization;
using Orleans.Storage;

namespace GrantSilo.Grains.Tests;

/// <summary>
/// The contract of the embedded default's grain storage (<see cref="LocalGrainStorage"/>): what Orleans' memory storage
/// promises (copies never shared with a grain, ETag checks, clear), checked without a silo.
/// </summary>
public sealed class LocalGrainStorageTests
{
    private static readonly ServiceProvider SerializationServices = new ServiceCollection().AddSerializer(s => s.AddAssembly(typeof(SessionState).Assembly)).BuildServiceProvider();

    private static readonly GrainId Grain = GrainId.Create("session", "s-1");

    private readonly LocalGrainStorage _storage = new(SerializationServices.GetRequiredService<DeepCopier>());

    private static Held Fresh() => new(new SessionState());

    private static Held Holding(string agent) => new(new SessionState { Agent = agent });

    private async Task<Held> ReadAsync(string stateName = "session", GrainId? grain = null)
    {
        var read = Fresh();
        await _storage.ReadStateAsync(stateName, grain ?? Grain, read);
        return read;
    }

    [Fact]
    public async Task Read_OfARecordNeverWritten_IsAbsentWithoutETag()
    {
        var read = await ReadAsync();

        Assert.False(read.RecordExists);
        Assert.Null(read.ETag);
        Assert.Equal("", read.State.Agent);
    }

    [Fact]
    public async Task ReadAfterWrite_ReturnsTheWrittenStateAsACopy_UnderTheWritersETag()
    {
        var written = Holding("spiffe://acme.dev/agent/a");
        await _storage.WriteStateAsync("session", Grain, written);
        // The writer's object is its own: changing it after the write changes nothing stored.
        written.State.Agent = "spiffe://acme.dev/agent/changed";

        var read = await ReadAsync();

        Assert.True(read.RecordExists);
        Assert.NotNull(written.ETag);
        Assert.Equal(written.ETag, read.ETag);
        Assert.Equal("spiffe://acme.dev/agent/a", read.State.Agent);
        Assert.NotSame(written.State, read.State);
    }

    [Fact]
    public async Task EveryRead_IsACopyOfItsOwn_DownToNestedCollections()
    {
        var index = new IndexHeld();
        index.State.Credentials["c-1"] = new SessionCredential("t-1", DateTimeOffset.UnixEpoch);
        await _storage.WriteStateAsync("session-index", Grain, index);
        // The writer's dictionary is its own after the write.
        index.State.Credentials["c-2"] = new SessionCredential("t-2", DateTimeOffset.UnixEpoch);

        var first = new IndexHeld();
        await _storage.ReadStateAsync("session-index", Grain, first);
        // A reader's changes reach neither storage nor any other reader.
        first.State.Credentials.Clear();
        var second = new IndexHeld();
        await _storage.ReadStateAsync("session-index", Grain, second);

        Assert.Equal(["c-1"], second.State.Credentials.Keys);
        Assert.NotSame(index.State.Credentials, second.State.Credentials);
        Assert.NotSame(first.State.Credentials, second.State.Credentials);
        Assert.Equal(new SessionCredential("t-1", DateTimeOffset.UnixEpoch), second.State.Credentials["c-1"]);
    }

    [Fact]
    public async Task Write_AsOfAStaleETag_FailsInconsistentAndLeavesTheRecord()
    {
        var first = Holding("first");
        await _storage.WriteStateAsync("session", Grain, first);
        var stale = await ReadAsync();
        var second = await ReadAsync();
        second.State.Agent = "second";
        await _storage.WriteStateAsync("session", Grain, second);
        Assert.NotEqual(first.ETag, second.ETag);

        stale.State.Agent = "stale";
        // The conflict is the returned task's, as an asynchronous provider's would be, not thrown at the call.
        var write = _storage.WriteStateAsync("session", Grain, stale);
        Assert.True(write.IsFaulted);
        var conflict = await Assert.ThrowsAsync<InconsistentStateException>(() => write);

        // Orleans' naming: the stored ETag, and the caller's ("current" in its memory).
        Assert.Equal(second.ETag, conflict.StoredEtag);
        Assert.Equal(first.ETag, conflict.CurrentEtag);
        Assert.Equal("second", (await ReadAsync()).State.Agent);
    }

    [Fact]
    public async Task Write_CreatingWithAnETag_WhenNothingIsStored_FailsInconsistent()
    {
        var claimsToHaveRead = new Held(new SessionState(), "7");

        await Assert.ThrowsAsync<InconsistentStateException>(() => _storage.WriteStateAsync("session", Grain, claimsToHaveRead));
        Assert.False((await ReadAsync()).RecordExists);
    }

    [Fact]
    public async Task Write_WithTheAnyETag_SkipsTheCheck()
    {
        await _storage.WriteStateAsync("session", Grain, Holding("first"));
        var any = new Held(new SessionState { Agent = "any" }, "*");

        await _storage.WriteStateAsync("session", Grain, any);

        Assert.Equal("any", (await ReadAsync()).State.Agent);
    }

    [Fact]
    public async Task Clear_RemovesTheRecord_AndAStaleHolderCanNeitherWriteNorClear()
    {
        await _storage.WriteStateAsync("session", Grain, Holding("first"));
        var stale = await ReadAsync();
        var clearing = await ReadAsync();

        await _storage.ClearStateAsync("session", Grain, clearing);

        Assert.Null(clearing.ETag);
        Assert.False(clearing.RecordExists);
        Assert.False((await ReadAsync()).RecordExists);
        await Assert.ThrowsAsync<InconsistentStateException>(() => _storage.WriteStateAsync("session", Grain, stale));
        await Assert.ThrowsAsync<InconsistentStateException>(() => _storage.ClearStateAsync("session", Grain, stale));
        Assert.False((await ReadAsync()).RecordExists);
        // Whoever saw it absent may write it again.
        var again = await ReadAsync();
        again.State.Agent = "again";
        await _storage.WriteStateAsync("session", Grain, again);
        Assert.Equal("again", (await ReadAsync()).State.Agent);
    }

    [Fact]
    public async Task Clear_AsOfAStaleETag_FailsInconsistentAndKeepsTheRecord()
    {
        var first = Holding("first");
        await _storage.WriteStateAsync("session", Grain, first);
        var staleETag = first.ETag;
        await _storage.WriteStateAsync("session", Grain, first);

        await Assert.ThrowsAsync<InconsistentStateException>(() => _storage.ClearStateAsync("session", Grain, new Held(new SessionState(), staleETag)));
        Assert.True((await ReadAsync()).RecordExists);
    }

    [Fact]
    public async Task Records_AreSeparateByStateNameAndGrain()
    {
        var other = GrainId.Create("session", "s-2");
        await _storage.WriteStateAsync("session", Grain, Holding("record"));
        await _storage.WriteStateAsync("session-index", Grain, Holding("index"));

        Assert.Equal("record", (await ReadAsync("session")).State.Agent);
        Assert.Equal("index", (await ReadAsync("session-index")).State.Agent);
        Assert.False((await ReadAsync("session", other)).RecordExists);
        Assert.Equal(2, _storage.Count);
    }

    [Fact]
    public async Task ConcurrentWriters_AsOfTheSameETag_ExactlyOneWins()
    {
        await _storage.WriteStateAsync("session", Grain, Holding("start"));
        var seen = (await ReadAsync()).ETag;
        const int writers = 64;
        var start = new ManualResetEventSlim();
        var attempts = Enumerable.Range(0, writers).Select(i => Task.Run(async () =>
        {
            var mine = new Held(new SessionState { Agent = $"writer-{i}" }, seen);
            start.Wait();
            try
            {
                await _storage.WriteStateAsync("session", Grain, mine);
                return mine;
            }
            catch (InconsistentStateException)
            {
                return null;
            }
        })).ToArray();
        start.Set();
        var outcomes = await Task.WhenAll(attempts);

        var winner = Assert.Single(outcomes.OfType<Held>());
        var stored = await ReadAsync();
        Assert.Equal(winner.State.Agent, stored.State.Agent);
        Assert.Equal(winner.ETag, stored.ETag);
    }

    [Fact]
    public async Task ConcurrentWriters_EachAsOfWhatItLastSaw_LoseNoWrite()
    {
        // Writers that re-read after a conflict and retry: every increment lands exactly once.
        await _storage.WriteStateAsync("session", Grain, new Held(new SessionState { IdleTimeout = TimeSpan.Zero }));
        const int writers = 8;
        const int increments = 50;
        await Task.WhenAll(Enumerable.Range(0, writers).Select(_ => Task.Run(async () =>
        {
            for (var done = 0; done < increments;)
            {
                var mine = await ReadAsync();
                mine.State.IdleTimeout += TimeSpan.FromTicks(1);
                try
                {
                    await _storage.WriteStateAsync("session", Grain, mine);
                    done++;
                }
                catch (InconsistentStateException)
                {
                }
            }
        })));

        Assert.Equal(TimeSpan.FromTicks(writers * increments), (await ReadAsync()).State.IdleTimeout);
    }

    // A state holder whose state is never null (Orleans' GrainState<T> allows null).
    private sealed class Held(SessionState state, string? etag = null) : IGrainState<SessionState>
    {
        private SessionState _state = state;

        [System.Diagnostics.CodeAnalysis.AllowNull]
        public SessionState State
        {
            get => _state;
            set => _state = value ?? new SessionState();
        }

        public string? ETag { get; set; } = etag;

        public bool RecordExists { get; set; }
    }

    private sealed class IndexHeld : IGrainState<SessionIndexState>
    {
        private SessionIndexState _state = new();

        [System.Diagnostics.CodeAnalysis.AllowNull]
        public SessionIndexState State
        {
            get => _state;
            set => _state = value ?? new SessionIndexState();
        }

        public string? ETag { get; set; }

        public bool RecordExists { get; set; }
    }
}
