namespace GrantSilo.Cedar.Schema;

/// <summary>How a type name in a schema is to be resolved.</summary>
internal enum NameKind
{
    /// <summary>A common type, an entity type or a built-in type, in that order (the human-readable format's rule).</summary>
    EntityOrCommon,
    /// <summary>An entity type only (JSON <c>"type": "Entity"</c>).</summary>
    Entity,
    /// <summary>An extension type only (JSON <c>"type": "Extension"</c>).</summary>
    Extension,
    /// <summary>A built-in primitive (JSON <c>Long</c>, <c>String</c>, <c>Boolean</c>).</summary>
    Primitive,
}

/// <summary>A type as written in a schema, before names are resolved.</summary>
internal abstract record RawType(int Offset);

internal sealed record RawNamedType(string Name, NameKind Kind, int Offset) : RawType(Offset);

internal sealed record RawSetType(RawType Element, int Offset) : RawType(Offset);

internal sealed record RawRecordType(List<RawAttribute> Attributes, int Offset) : RawType(Offset);

internal sealed record RawAttribute(string Name, RawType Type, bool Required, int Offset);

internal sealed record RawEntityType(
    string Name,
    List<(string Name, int Offset)> Parents,
    RawType? Shape,
    RawType? Tags,
    List<string>? EnumChoices,
    int Offset);

/// <summary>An action's group reference: an optional action entity type (null: this namespace's <c>Action</c>) and an id.</summary>
internal sealed record RawActionRef(string? Type, string Id, int Offset);

internal sealed record RawAction(
    string Name,
    List<RawActionRef> Parents,
    bool HasAppliesTo,
    List<(string Name, int Offset)> Principals,
    List<(string Name, int Offset)> Resources,
    RawType? Context,
    int Offset);

/// <summary>The declarations of one namespace (the empty name is the empty namespace).</summary>
internal sealed class RawNamespace(string name, int offset)
{
    public string Name { get; } = name;

    public int Offset { get; } = offset;

    public List<RawEntityType> EntityTypes { get; } = [];

    public List<RawAction> Actions { get; } = [];

    public List<(string Name, RawType Type, int Offset)> CommonTypes { get; } = [];
}
