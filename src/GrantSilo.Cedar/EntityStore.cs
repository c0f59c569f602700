namespace GrantSilo.Cedar;

/// <summary>
/// An immutable set of entities with their ancestor closure precomputed, so <c>in</c> checks are a hash lookup.
/// Parents that are not themselves in the store still count as ancestors, but their own parents are unknown.
/// </summary>
public sealed class EntityStore
{
    private static readonly HashSet<EntityUid> NoAncestors = [];
    private readonly Dictionary<EntityUid, Entry> _entries;

    /// <summary>Creates a store. A later entity with the same uid replaces an earlier one.</summary>
    public EntityStore(IEnumerable<Entity> entities)
    {
        ArgumentNullException.ThrowIfNull(entities);
        _entries = [];
        foreach (var e in entities)
        {
            ArgumentNullException.ThrowIfNull(e, nameof(entities));
            _entries[e.Uid] = new Entry(e);
        }

        foreach (var entry in _entries.Values)
        {
            ComputeAncestors(entry);
        }
    }

    /// <summary>A store with no entities.</summary>
    public static EntityStore Empty { get; } = new([]);

    /// <summary>The number of entities.</summary>
    public int Count => _entries.Count;

    /// <summary>All entities in the store.</summary>
    public IEnumerable<Entity> Entities => _entries.Values.Select(e => e.Entity);

    /// <summary>Looks up an entity.</summary>
    public bool TryGet(EntityUid uid, out Entity entity)
    {
        if (_entries.TryGetValue(uid, out var entry))
        {
            entity = entry.Entity;
            return true;
        }

        entity = null!;
        return false;
    }

    /// <summary>True when <paramref name="descendant"/> equals <paramref name="ancestor"/> or has it as a (transitive) ancestor.</summary>
    public bool IsInOrEqual(EntityUid descendant, EntityUid ancestor) =>
        descendant.Equals(ancestor) || AncestorsOf(descendant).Contains(ancestor);

    internal Entity? Find(EntityUid uid) => _entries.TryGetValue(uid, out var entry) ? entry.Entity : null;

    internal HashSet<EntityUid> AncestorsOf(EntityUid uid) => _entries.TryGetValue(uid, out var entry) ? entry.Ancestors! : NoAncestors;

    private void ComputeAncestors(Entry start)
    {
        if (start.Ancestors is not null)
        {
            return;
        }

        // Iterative walk so long parent chains cannot overflow the stack; cycles are tolerated.
        var result = new HashSet<EntityUid>();
        var stack = new Stack<EntityUid>(start.Entity.Parents);
        while (stack.Count > 0)
        {
            var uid = stack.Pop();
            if (!result.Add(uid))
            {
                continue;
            }

            if (_entries.TryGetValue(uid, out var parent))
            {
                if (parent.Ancestors is not null)
                {
                    result.UnionWith(parent.Ancestors);
                }
                else
                {
                    foreach (var p in parent.Entity.Parents)
                    {
                        stack.Push(p);
                    }
                }
            }
        }

        start.Ancestors = result.Count == 0 ? NoAncestors : result;
    }

    private sealed class Entry(Entity entity)
    {
        public Entity Entity { get; } = entity;

        public HashSet<EntityUid>? Ancestors { get; set; }
    }
}
