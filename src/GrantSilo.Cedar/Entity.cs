namespace GrantSilo.Cedar;

/// <summary>An entity: its uid, attributes, direct parents and tags.</summary>
public sealed class Entity
{
    private static readonly Dictionary<string, CedarValue> NoValues = new(StringComparer.Ordinal);

    /// <summary>Creates an entity.</summary>
    /// <param name="uid">The entity's uid.</param>
    /// <param name="attributes">Attribute values (may be null for none).</param>
    /// <param name="parents">Direct parents (may be null for none); ancestors are computed by <see cref="EntityStore"/>.</param>
    /// <param name="tags">Entity tags, read with <c>getTag</c>/<c>hasTag</c> (may be null for none).</param>
    public Entity(
        EntityUid uid,
        IEnumerable<KeyValuePair<string, CedarValue>>? attributes = null,
        IEnumerable<EntityUid>? parents = null,
        IEnumerable<KeyValuePair<string, CedarValue>>? tags = null)
    {
        ArgumentNullException.ThrowIfNull(uid);
        Uid = uid;
        AttributeMap = ToDictionary(attributes);
        TagMap = ToDictionary(tags);
        Parents = parents is null ? [] : [.. parents.Distinct()];
    }

    /// <summary>The entity's uid.</summary>
    public EntityUid Uid { get; }

    /// <summary>The entity's attributes.</summary>
    public IReadOnlyDictionary<string, CedarValue> Attributes => AttributeMap;

    /// <summary>The entity's tags.</summary>
    public IReadOnlyDictionary<string, CedarValue> Tags => TagMap;

    /// <summary>The entity's direct parents.</summary>
    public IReadOnlyList<EntityUid> Parents { get; }

    internal Dictionary<string, CedarValue> AttributeMap { get; }

    internal Dictionary<string, CedarValue> TagMap { get; }

    private static Dictionary<string, CedarValue> ToDictionary(IEnumerable<KeyValuePair<string, CedarValue>>? values)
    {
        if (values is null)
        {
            return NoValues;
        }

        var d = values.TryGetNonEnumeratedCount(out var count)
            ? new Dictionary<string, CedarValue>(count, StringComparer.Ordinal)
            : new Dictionary<string, CedarValue>(StringComparer.Ordinal);
        foreach (var (k, v) in values)
        {
            ArgumentNullException.ThrowIfNull(k, nameof(values));
            ArgumentNullException.ThrowIfNull(v, nameof(values));
            d[k] = v;
        }

        return d.Count == 0 ? NoValues : d;
    }
}
