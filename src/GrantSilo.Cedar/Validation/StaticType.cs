using System.Text;

namespace GrantSilo.Cedar.Validation;

/// <summary>The kinds of type the validator works with.</summary>
internal enum TypeKind
{
    /// <summary>The type of no value (the element type of an empty set); a subtype of everything.</summary>
    Never,
    Bool,
    Long,
    String,
    Entity,
    Set,
    Record,
    Extension,
}

/// <summary>Which booleans a <see cref="TypeKind.Bool"/> type admits: both, or only <c>true</c> or <c>false</c>.</summary>
internal enum BoolKind
{
    Any,
    True,
    False,
}

/// <summary>An attribute of a record or entity type.</summary>
internal readonly record struct AttributeType(StaticType Type, bool Required);

/// <summary>
/// A type of Cedar's validator (strict mode): primitives with singleton booleans, one named entity type or any entity,
/// sets, records (closed or open) and extension types. Immutable, with structural equality.
/// </summary>
internal sealed class StaticType : IEquatable<StaticType>
{
    private static readonly SortedDictionary<string, AttributeType> Empty = new(StringComparer.Ordinal);

    public static readonly StaticType Never = new(TypeKind.Never);
    public static readonly StaticType Bool = new(TypeKind.Bool);
    public static readonly StaticType True = new(TypeKind.Bool) { BoolKind = BoolKind.True };
    public static readonly StaticType False = new(TypeKind.Bool) { BoolKind = BoolKind.False };
    public static readonly StaticType Long = new(TypeKind.Long);
    public static readonly StaticType String = new(TypeKind.String);
    public static readonly StaticType AnyEntity = new(TypeKind.Entity);
    public static readonly StaticType AnySet = new(TypeKind.Set);
    public static readonly StaticType AnyRecord = new(TypeKind.Record) { Attributes = Empty, IsOpen = true };
    public static readonly StaticType EmptyRecord = new(TypeKind.Record) { Attributes = Empty };

    private StaticType(TypeKind kind) => Kind = kind;

    public TypeKind Kind { get; }

    public BoolKind BoolKind { get; private init; }

    /// <summary>The entity type (null: any entity) or the extension type name.</summary>
    public string? Name { get; private init; }

    /// <summary>The element type of a set; null for a set of anything.</summary>
    public StaticType? Element { get; private init; }

    /// <summary>Record attributes, sorted by name.</summary>
    public IReadOnlyDictionary<string, AttributeType> Attributes { get; private init; } = Empty;

    /// <summary>An open record may have attributes beyond <see cref="Attributes"/>.</summary>
    public bool IsOpen { get; private init; }

    public static StaticType Singleton(bool value) => value ? True : False;

    public static StaticType Entity(string type) => new(TypeKind.Entity) { Name = type };

    public static StaticType Extension(string name) => new(TypeKind.Extension) { Name = name };

    public static StaticType SetOf(StaticType element) => new(TypeKind.Set) { Element = element };

    public static StaticType Record(IEnumerable<KeyValuePair<string, AttributeType>> attributes, bool open = false)
    {
        var d = new SortedDictionary<string, AttributeType>(StringComparer.Ordinal);
        foreach (var (k, v) in attributes)
        {
            d[k] = v;
        }

        return new StaticType(TypeKind.Record) { Attributes = d, IsOpen = open };
    }

    public bool IsBool => Kind == TypeKind.Bool;

    /// <summary>Subtyping as Cedar's validator defines it; <paramref name="strict"/> keeps entity types exact.</summary>
    public static bool IsSubtype(StaticType a, StaticType b, bool strict)
    {
        if (a.Kind == TypeKind.Never)
        {
            return true;
        }

        if (a.Kind != b.Kind)
        {
            return false;
        }

        switch (a.Kind)
        {
            case TypeKind.Bool:
                return b.BoolKind == BoolKind.Any || a.BoolKind == b.BoolKind;
            case TypeKind.Long:
            case TypeKind.String:
                return true;
            case TypeKind.Extension:
                return a.Name == b.Name;
            case TypeKind.Entity:
                if (a.Name is null)
                {
                    return b.Name is null;
                }

                return b.Name is null ? !strict : a.Name == b.Name;
            case TypeKind.Set:
                if (b.Element is null)
                {
                    return true;
                }

                return a.Element is not null && IsSubtype(a.Element, b.Element, strict);
            case TypeKind.Record:
                if (a.IsOpen && !b.IsOpen)
                {
                    return false;
                }

                if (b.IsOpen && !strict)
                {
                    return AttributesSubtype(a, b, strict);
                }

                return a.Attributes.Count == b.Attributes.Count && a.Attributes.Keys.All(b.Attributes.ContainsKey) && AttributesSubtype(a, b, strict);
            default:
                return true;
        }
    }

    private static bool AttributesSubtype(StaticType a, StaticType b, bool strict)
    {
        foreach (var (k, bt) in b.Attributes)
        {
            if (!a.Attributes.TryGetValue(k, out var at))
            {
                return false;
            }

            var qualifierOk = strict ? at.Required == bt.Required : at.Required || !bt.Required;
            if (!qualifierOk || !IsSubtype(at.Type, bt.Type, strict))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>The least upper bound in strict mode, or null (with a reason) when the types are incompatible.</summary>
    public static StaticType? Lub(StaticType a, StaticType b, out string? reason)
    {
        reason = null;
        if (IsSubtype(a, b, strict: true))
        {
            return b;
        }

        if (IsSubtype(b, a, strict: true))
        {
            return a;
        }

        if (a.Kind != b.Kind)
        {
            reason = (a.Kind, b.Kind) is (TypeKind.Entity, TypeKind.Record) or (TypeKind.Record, TypeKind.Entity)
                ? "an entity and a record are never compatible; entities cannot be compared with records"
                : null;
            return null;
        }

        switch (a.Kind)
        {
            case TypeKind.Bool:
                return Bool;
            case TypeKind.Set:
                if (a.Element is null || b.Element is null)
                {
                    return AnySet;
                }

                var e = Lub(a.Element, b.Element, out reason);
                return e is null ? null : SetOf(e);
            case TypeKind.Record:
                if (a.Attributes.Count != b.Attributes.Count || !a.Attributes.Keys.All(b.Attributes.ContainsKey))
                {
                    reason = "records with different attributes are incompatible in strict validation";
                    return null;
                }

                var attrs = new List<KeyValuePair<string, AttributeType>>();
                foreach (var (k, at) in a.Attributes)
                {
                    var bt = b.Attributes[k];
                    var t = Lub(at.Type, bt.Type, out reason);
                    if (t is null)
                    {
                        return null;
                    }

                    if (at.Required != bt.Required)
                    {
                        reason = $"attribute `{k}` is required in one record and optional in the other";
                        return null;
                    }

                    attrs.Add(new(k, new AttributeType(t, at.Required)));
                }

                return Record(attrs, a.IsOpen || b.IsOpen);
            case TypeKind.Entity:
                reason = "different entity types are incompatible in strict validation";
                return null;
            default:
                return null;
        }
    }

    /// <summary>Whether values of the two types can never be equal (only decided for entity types).</summary>
    public static bool AreDisjoint(StaticType a, StaticType b) =>
        a.Kind == TypeKind.Entity && b.Kind == TypeKind.Entity && a.Name is not null && b.Name is not null && a.Name != b.Name;

    public bool Equals(StaticType? other)
    {
        if (ReferenceEquals(this, other))
        {
            return true;
        }

        if (other is null || Kind != other.Kind || BoolKind != other.BoolKind || Name != other.Name || IsOpen != other.IsOpen)
        {
            return false;
        }

        if (!Equals(Element, other.Element) || Attributes.Count != other.Attributes.Count)
        {
            return false;
        }

        foreach (var (k, v) in Attributes)
        {
            if (!other.Attributes.TryGetValue(k, out var o) || o.Required != v.Required || !v.Type.Equals(o.Type))
            {
                return false;
            }
        }

        return true;
    }

    public override bool Equals(object? obj) => obj is StaticType t && Equals(t);

    public override int GetHashCode() => HashCode.Combine(Kind, BoolKind, Name, Attributes.Count);

    /// <summary>The type as a policy author writes it in a schema.</summary>
    public override string ToString()
    {
        var sb = new StringBuilder();
        Write(sb);
        return sb.ToString();
    }

    private void Write(StringBuilder sb)
    {
        switch (Kind)
        {
            case TypeKind.Never:
                sb.Append("Never");
                break;
            case TypeKind.Bool:
                sb.Append(BoolKind switch { BoolKind.True => "true", BoolKind.False => "false", _ => "Bool" });
                break;
            case TypeKind.Long:
                sb.Append("Long");
                break;
            case TypeKind.String:
                sb.Append("String");
                break;
            case TypeKind.Entity:
                sb.Append(Name ?? "(any entity)");
                break;
            case TypeKind.Extension:
                sb.Append(Name);
                break;
            case TypeKind.Set:
                sb.Append("Set<");
                if (Element is null)
                {
                    sb.Append("(any)");
                }
                else
                {
                    Element.Write(sb);
                }

                sb.Append('>');
                break;
            case TypeKind.Record:
                sb.Append('{');
                var first = true;
                foreach (var (k, v) in Attributes)
                {
                    sb.Append(first ? " " : ", ").Append(k).Append(v.Required ? ": " : "?: ");
                    v.Type.Write(sb);
                    first = false;
                }

                sb.Append(IsOpen ? (first ? " ... }" : ", ... }") : (first ? "}" : " }"));
                break;
        }
    }
}
