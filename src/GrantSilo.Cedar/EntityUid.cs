namespace GrantSilo.Cedar;

/// <summary>
/// A Cedar entity reference such as <c>User::"alice"</c> or <c>Acme::Doc::"x"</c>.
/// It is also a <see cref="CedarValue"/>, so it can be used directly as an attribute or context value.
/// </summary>
public sealed class EntityUid : CedarValue, IEquatable<EntityUid>
{
    private readonly int _hash;

    /// <summary>Creates an entity reference.</summary>
    /// <param name="type">The entity type, namespaces separated by <c>::</c> (for example <c>Acme::User</c>).</param>
    /// <param name="id">The entity id (any string).</param>
    public EntityUid(string type, string id)
    {
        ArgumentNullException.ThrowIfNull(type);
        ArgumentNullException.ThrowIfNull(id);
        Type = type;
        Id = id;
        _hash = HashCode.Combine(StringComparer.Ordinal.GetHashCode(type), StringComparer.Ordinal.GetHashCode(id));
    }

    /// <summary>The entity type name, for example <c>Acme::User</c>.</summary>
    public string Type { get; }

    /// <summary>The entity id.</summary>
    public string Id { get; }

    /// <inheritdoc />
    public override CedarType Kind => CedarType.Entity;

    /// <inheritdoc />
    public bool Equals(EntityUid? other) =>
        other is not null && (ReferenceEquals(this, other) ||
            (_hash == other._hash && string.Equals(Id, other.Id, StringComparison.Ordinal) && string.Equals(Type, other.Type, StringComparison.Ordinal)));

    /// <inheritdoc />
    public override bool Equals(CedarValue? other) => other is EntityUid e && Equals(e);

    /// <inheritdoc />
    public override bool Equals(object? obj) => obj is EntityUid e && Equals(e);

    /// <inheritdoc />
    public override int GetHashCode() => _hash;

    /// <summary>Cedar syntax, for example <c>User::"alice"</c>.</summary>
    public override string ToString() => Type + "::" + CedarValue.Quote(Id);
}
