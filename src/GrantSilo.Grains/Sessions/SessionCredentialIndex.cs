using GrantSilo.Grains.Indexes;
using Microsoft.Extensions.Logging;

namespace GrantSilo.Grains.Sessions;

/// <summary>
/// A session's live credentials, kept in two durable parts so that issuing one never rewrites them all: the
/// <em>settled</em> part (the state <c>session-index</c>, as earlier versions wrote it) and a small <em>recent</em>
/// part (<c>session-index-recent</c>) that each new credential is written to. Once the recent part holds about
/// √(2·settled) entries it is folded into the settled part, so a session with <c>n</c> live credentials writes
/// O(√n) entries per issuance instead of <c>n</c>.
/// </summary>
/// <remarks>
/// A credential is durable once the part it was added to is written: every reader (the cascade, the listing,
/// the quota) sees both parts. A fold writes the settled part first and only then empties the recent part, so
/// an interrupted fold leaves an entry in both (read once), never in neither. State written before the recent
/// part existed loads as a settled part and an empty recent part.
/// </remarks>
internal sealed class SessionCredentialIndex
{
    private const int MinFold = 16;

    private readonly IPersistentState<SessionIndexState> _settled;
    private readonly IPersistentState<SessionIndexState> _recent;
    private readonly DurableIndex<SessionIndexState> _settledStore;
    private readonly DurableIndex<SessionIndexState> _recentStore;
    private bool _settledChanged;
    private bool _recentChanged;

    // The earliest expiry among the entries, kept as entries come and go (recomputed only when the earliest leaves).
    private DateTimeOffset? _earliest;
    private bool _earliestKnown;

    // The credential ids of each task, built on first use and kept as entries are added and removed. Rebuilt when a
    // read-back has replaced either part's dictionary, which can bring back entries removed in memory.
    private Dictionary<string, HashSet<string>>? _byTask;
    private Dictionary<string, SessionCredential>? _byTaskSettled;
    private Dictionary<string, SessionCredential>? _byTaskRecent;

    public SessionCredentialIndex(IPersistentState<SessionIndexState> settled, IPersistentState<SessionIndexState> recent, string kind, Func<string> key, ILogger logger)
    {
        _settled = settled;
        _recent = recent;
        _settledStore = new DurableIndex<SessionIndexState>(settled, kind, key, logger);
        _recentStore = new DurableIndex<SessionIndexState>(recent, kind + " recent", key, logger);
    }

    // Read through the persistent states each time: a read-back after a failed write replaces their objects.
    private Dictionary<string, SessionCredential> Settled => _settled.State.Credentials;

    private Dictionary<string, SessionCredential> Recent => _recent.State.Credentials;

    /// <summary>How many credentials the index holds.</summary>
    public int Count
    {
        get
        {
            if (Recent.Count == 0)
            {
                return Settled.Count;
            }
            var count = Settled.Count;
            foreach (var id in Recent.Keys)
            {
                if (!Settled.ContainsKey(id))
                {
                    count++;
                }
            }
            return count;
        }
    }

    /// <summary>True when the index holds at least <paramref name="limit"/> credentials (exact counting only near it).</summary>
    public bool Reaches(int limit) => Settled.Count + Recent.Count >= limit && Count >= limit;

    /// <summary>Every credential, with the task it is for and when it expires.</summary>
    public IEnumerable<KeyValuePair<string, SessionCredential>> Entries
    {
        get
        {
            foreach (var entry in Settled)
            {
                yield return entry;
            }
            foreach (var entry in Recent)
            {
                if (!Settled.ContainsKey(entry.Key))
                {
                    yield return entry;
                }
            }
        }
    }

    /// <summary>The ids of every credential, as a list taken now (safe to use across awaits).</summary>
    public List<string> Ids() => [.. Entries.Select(e => e.Key)];

    /// <summary>
    /// The ids of the credentials issued for <paramref name="taskId"/>, as a list taken now (safe to use across awaits).
    /// Costs the number of that task's credentials, not the index's size: a tree of <c>n</c> tasks ending through one
    /// session asks <c>n</c> times.
    /// </summary>
    public List<string> OfTask(string taskId)
    {
        if (_byTask is null || !ReferenceEquals(_byTaskSettled, Settled) || !ReferenceEquals(_byTaskRecent, Recent))
        {
            _byTask = new Dictionary<string, HashSet<string>>(StringComparer.Ordinal);
            _byTaskSettled = Settled;
            _byTaskRecent = Recent;
            foreach (var (id, credential) in Entries)
            {
                IndexByTask(id, credential);
            }
        }
        if (!_byTask.TryGetValue(taskId, out var ids))
        {
            return [];
        }
        return [.. ids];
    }

    private void IndexByTask(string id, SessionCredential credential)
    {
        if (_byTask is null)
        {
            return;
        }
        if (!_byTask.TryGetValue(credential.TaskId, out var ids))
        {
            _byTask[credential.TaskId] = ids = new HashSet<string>(StringComparer.Ordinal);
        }
        ids.Add(id);
    }

    /// <summary>
    /// When a quota asks the listed credentials whether they ended: owed at once when the index may list ended ones
    /// (this activation loaded it from storage, or a failed write read it back), otherwise once per interval.
    /// </summary>
    public Indexes.CompactionSchedule QuotaCompaction { get; } = new();

    /// <summary>The credential's entry, when the index holds it.</summary>
    public bool TryGetValue(string id, out SessionCredential credential) =>
        Recent.TryGetValue(id, out credential!) || Settled.TryGetValue(id, out credential!);

    /// <summary>Adds a new credential (to the recent part); durable once <see cref="TryWriteAsync"/> says so.</summary>
    public void Add(string id, SessionCredential credential)
    {
        Recent[id] = credential;
        _recentChanged = true;
        IndexByTask(id, credential);
        if (_earliestKnown && (_earliest is null || credential.ExpiresAt < _earliest))
        {
            _earliest = credential.ExpiresAt;
        }
    }

    /// <summary>Adds an entry moved from state written before the index (to the settled part) unless it is there.</summary>
    public void AddSettled(string id, SessionCredential credential)
    {
        if (Settled.TryAdd(id, credential))
        {
            _settledChanged = true;
            _earliestKnown = false;
            IndexByTask(id, credential);
        }
    }

    /// <summary>Removes a credential from whichever part holds it; true when one did.</summary>
    public bool Remove(string id)
    {
        var removed = false;
        if (Recent.Remove(id, out var recent))
        {
            _recentChanged = true;
            removed = true;
            Forget(id, recent);
        }
        if (Settled.Remove(id, out var settled))
        {
            _settledChanged = true;
            removed = true;
            Forget(id, settled);
        }
        return removed;
    }

    private void Forget(string id, SessionCredential credential)
    {
        if (_byTask is not null && _byTask.TryGetValue(credential.TaskId, out var ids) && ids.Remove(id) && ids.Count == 0)
        {
            _byTask.Remove(credential.TaskId);
        }
        if (_earliestKnown && _earliest is { } earliest && credential.ExpiresAt <= earliest)
        {
            _earliestKnown = false;
        }
    }

    /// <summary>The earliest expiry among the credentials, or null when there are none.</summary>
    public DateTimeOffset? EarliestExpiry()
    {
        if (!_earliestKnown)
        {
            DateTimeOffset? earliest = null;
            foreach (var (_, credential) in Entries)
            {
                if (earliest is null || credential.ExpiresAt < earliest)
                {
                    earliest = credential.ExpiresAt;
                }
            }
            _earliest = earliest;
            _earliestKnown = true;
        }
        return _earliest;
    }

    /// <summary>
    /// Writes the parts changed since their last write; true once every change made before this call is durable.
    /// Then folds the recent part into the settled part when it has grown enough (that fold's outcome does not
    /// change the answer: its entries are durable in the recent part either way).
    /// </summary>
    public async Task<bool> TryWriteAsync()
    {
        // The recent part first: a new credential is durable once it is written, before any fold.
        if (_recentChanged)
        {
            _recentChanged = false;
            if (!await _recentStore.TryWriteAsync())
            {
                // Read back: memory holds what storage holds, and the earliest expiry is found again.
                ReadBack();
                return false;
            }
        }
        if (_settledChanged)
        {
            _settledChanged = false;
            if (!await _settledStore.TryWriteAsync())
            {
                ReadBack();
                return false;
            }
        }
        if (Recent.Count >= Math.Max(MinFold, (int)Math.Sqrt(2.0 * Settled.Count)))
        {
            await FoldAsync();
        }
        return true;
    }

    // After a failed write, a part was read back: the earliest expiry is found again, and removals may have come back.
    private void ReadBack()
    {
        _earliestKnown = false;
        QuotaCompaction.Owe();
    }

    // Moves the recent part into the settled part: the settled part is written with them first, so every entry
    // stays durable in at least one part throughout.
    private async Task FoldAsync()
    {
        var moved = Recent.ToArray();
        foreach (var (id, credential) in moved)
        {
            Settled[id] = credential;
        }
        _settledChanged = false;
        if (!await _settledStore.TryWriteAsync())
        {
            ReadBack();
            return;
        }
        // Only those moved leave the recent part: entries added while the settled part was written stay.
        foreach (var (id, credential) in moved)
        {
            if (Recent.TryGetValue(id, out var current) && current == credential)
            {
                Recent.Remove(id);
            }
        }
        _recentChanged = false;
        if (!await _recentStore.TryWriteAsync())
        {
            // Entries now in both parts are read once; the next fold moves them again.
            ReadBack();
        }
    }
}
