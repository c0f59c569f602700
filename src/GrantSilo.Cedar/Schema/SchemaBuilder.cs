using GrantSilo.Cedar.Validation;

namespace GrantSilo.Cedar.Schema;

/// <summary>
/// Turns parsed declarations (from either schema format) into a <see cref="CedarSchema"/>: resolves type names as Cedar
/// does (common type, then entity type, in the declaring namespace, then in the empty namespace, then built-ins),
/// checks every reference, and computes the entity-type and action hierarchies.
/// </summary>
internal sealed class SchemaBuilder
{
    private static readonly HashSet<string> ReservedCommonTypeNames = new(StringComparer.Ordinal)
    {
        "Bool", "Boolean", "Entity", "Extension", "Long", "Record", "Set", "String",
    };

    private static readonly HashSet<string> ExtensionTypes = new(StringComparer.Ordinal) { "ipaddr", "decimal", "datetime", "duration" };

    private readonly string _text;
    private readonly Dictionary<string, (RawType Type, string Namespace, int Offset)> _commonRaw = new(StringComparer.Ordinal);
    private readonly Dictionary<string, StaticType> _commonResolved = new(StringComparer.Ordinal);
    private readonly HashSet<string> _resolving = new(StringComparer.Ordinal);
    private readonly Dictionary<string, (RawEntityType Raw, string Namespace)> _entityRaw = new(StringComparer.Ordinal);

    private SchemaBuilder(string text) => _text = text;

    public static CedarSchema Build(List<RawNamespace> namespaces, string text) => new SchemaBuilder(text).Build(namespaces);

    private CedarSchema Build(List<RawNamespace> namespaces)
    {
        var actionRaw = new Dictionary<EntityUid, (RawAction Raw, string Namespace)>();
        foreach (var ns in namespaces)
        {
            if (ns.Name.Split("::").Contains("__cedar"))
            {
                throw Error(CedarSchemaErrorCode.ReservedName, ns.Offset, "the namespace `__cedar` is reserved");
            }

            foreach (var (name, type, offset) in ns.CommonTypes)
            {
                if (ReservedCommonTypeNames.Contains(name) || name == "__cedar")
                {
                    throw Error(CedarSchemaErrorCode.ReservedName, offset, $"`{name}` is a reserved name and cannot name a common type");
                }

                if (!_commonRaw.TryAdd(Qualify(ns.Name, name), (type, ns.Name, offset)))
                {
                    throw Error(CedarSchemaErrorCode.DuplicateDeclaration, offset, $"common type `{Qualify(ns.Name, name)}` is declared twice");
                }
            }

            foreach (var e in ns.EntityTypes)
            {
                if (e.Name == "__cedar")
                {
                    throw Error(CedarSchemaErrorCode.ReservedName, e.Offset, "`__cedar` is reserved and cannot name an entity type");
                }

                if (!_entityRaw.TryAdd(Qualify(ns.Name, e.Name), (e, ns.Name)))
                {
                    throw Error(CedarSchemaErrorCode.DuplicateDeclaration, e.Offset, $"entity type `{Qualify(ns.Name, e.Name)}` is declared twice");
                }
            }

            foreach (var a in ns.Actions)
            {
                var uid = new EntityUid(Qualify(ns.Name, "Action"), a.Name);
                if (!actionRaw.TryAdd(uid, (a, ns.Name)))
                {
                    throw Error(CedarSchemaErrorCode.DuplicateDeclaration, a.Offset, $"action {uid} is declared twice");
                }
            }
        }

        foreach (var name in _commonRaw.Keys)
        {
            ResolveCommon(name, _commonRaw[name].Offset);
        }

        var entityTypes = new Dictionary<string, SchemaEntityType>(StringComparer.Ordinal);
        foreach (var (name, (raw, ns)) in _entityRaw)
        {
            var parents = raw.Parents.Select(p => ResolveEntityTypeName(p.Name, ns, p.Offset)).Distinct().ToArray();
            var attrs = raw.Shape is null ? StaticType.EmptyRecord : Resolve(raw.Shape, ns);
            if (attrs.Kind != TypeKind.Record)
            {
                throw Error(CedarSchemaErrorCode.InvalidShape, raw.Shape!.Offset, $"the shape of entity type `{name}` must be a record type, not {attrs}");
            }

            var tags = raw.Tags is null ? null : Resolve(raw.Tags, ns);
            entityTypes[name] = new SchemaEntityType(name, attrs, tags, raw.EnumChoices?.Distinct().ToArray(), parents);
        }

        foreach (var et in entityTypes.Values)
        {
            foreach (var ancestor in Closure(et.Name, n => entityTypes[n].Parents))
            {
                entityTypes[ancestor].Descendants.Add(et.Name);
            }
        }

        var actions = new Dictionary<EntityUid, SchemaAction>();
        foreach (var (uid, (raw, ns)) in actionRaw)
        {
            var parents = raw.Parents.Select(p => ResolveActionRef(p, ns, actionRaw)).Distinct().ToArray();
            var principals = raw.Principals.Select(p => ResolveEntityTypeName(p.Name, ns, p.Offset)).Distinct().ToArray();
            var resources = raw.Resources.Select(p => ResolveEntityTypeName(p.Name, ns, p.Offset)).Distinct().ToArray();
            var context = raw.Context is null ? StaticType.EmptyRecord : Resolve(raw.Context, ns);
            if (context.Kind != TypeKind.Record)
            {
                throw Error(CedarSchemaErrorCode.InvalidContextType, raw.Context!.Offset, $"the context of action {uid} must be a record type, not {context}");
            }

            actions[uid] = new SchemaAction(uid, parents, principals, resources, context);
        }

        foreach (var a in actions.Values)
        {
            foreach (var ancestor in Closure(a.Uid, u => actions[u].Parents))
            {
                if (ancestor.Equals(a.Uid))
                {
                    throw Error(CedarSchemaErrorCode.ActionHierarchyCycle, actionRaw[a.Uid].Raw.Offset, $"action {a.Uid} is a member of itself through its groups");
                }

                actions[ancestor].Descendants.Add(a.Uid);
            }
        }

        return new CedarSchema(entityTypes, actions);
    }

    /// <summary>Every transitive parent of <paramref name="start"/> (including itself only when reachable through a cycle).</summary>
    private static HashSet<T> Closure<T>(T start, Func<T, IEnumerable<T>> parents)
        where T : notnull
    {
        var seen = new HashSet<T>();
        var stack = new Stack<T>(parents(start));
        while (stack.Count > 0)
        {
            var n = stack.Pop();
            if (seen.Add(n))
            {
                foreach (var p in parents(n))
                {
                    stack.Push(p);
                }
            }
        }

        return seen;
    }

    private static string Qualify(string ns, string name) => ns.Length == 0 ? name : ns + "::" + name;

    private EntityUid ResolveActionRef(RawActionRef r, string ns, Dictionary<EntityUid, (RawAction, string)> actions)
    {
        var type = r.Type is null ? Qualify(ns, "Action") : r.Type.Contains("::", StringComparison.Ordinal) ? r.Type : Qualify(ns, r.Type);
        var uid = new EntityUid(type, r.Id);
        if (actions.ContainsKey(uid))
        {
            return uid;
        }

        if (r.Type is not null && actions.ContainsKey(new EntityUid(r.Type, r.Id)))
        {
            return new EntityUid(r.Type, r.Id);
        }

        throw Error(CedarSchemaErrorCode.UndefinedAction, r.Offset, $"action group {uid} is not declared");
    }

    private string ResolveEntityTypeName(string name, string ns, int offset)
    {
        if (name.Contains("::", StringComparison.Ordinal))
        {
            if (_entityRaw.ContainsKey(name))
            {
                return name;
            }
        }
        else
        {
            if (ns.Length > 0 && _entityRaw.ContainsKey(Qualify(ns, name)))
            {
                return Qualify(ns, name);
            }

            if (_entityRaw.ContainsKey(name))
            {
                return name;
            }
        }

        throw Error(CedarSchemaErrorCode.UndefinedEntityType, offset, $"entity type `{name}` is not declared");
    }

    private StaticType ResolveCommon(string fullName, int offset)
    {
        if (_commonResolved.TryGetValue(fullName, out var t))
        {
            return t;
        }

        if (!_resolving.Add(fullName))
        {
            throw Error(CedarSchemaErrorCode.CommonTypeCycle, offset, $"common type `{fullName}` refers to itself");
        }

        var (raw, ns, _) = _commonRaw[fullName];
        t = Resolve(raw, ns);
        _resolving.Remove(fullName);
        _commonResolved[fullName] = t;
        return t;
    }

    private StaticType Resolve(RawType raw, string ns)
    {
        switch (raw)
        {
            case RawSetType s:
                return StaticType.SetOf(Resolve(s.Element, ns));
            case RawRecordType r:
                var attrs = new List<KeyValuePair<string, AttributeType>>();
                foreach (var a in r.Attributes)
                {
                    attrs.Add(new(a.Name, new AttributeType(Resolve(a.Type, ns), a.Required)));
                }

                return StaticType.Record(attrs);
            case RawNamedType n:
                return ResolveName(n, ns);
            default:
                throw new InvalidOperationException("unknown schema type node");
        }
    }

    private StaticType ResolveName(RawNamedType n, string ns)
    {
        var name = n.Name;
        switch (n.Kind)
        {
            case NameKind.Primitive:
                return Builtin(name) ?? throw Error(CedarSchemaErrorCode.UndefinedType, n.Offset, $"unknown primitive type `{name}`");
            case NameKind.Extension:
                var ext = name.StartsWith("__cedar::", StringComparison.Ordinal) ? name["__cedar::".Length..] : name;
                return ExtensionTypes.Contains(ext) ? StaticType.Extension(ext) : throw Error(CedarSchemaErrorCode.UndefinedType, n.Offset, $"unknown extension type `{name}`");
            case NameKind.Entity:
                return StaticType.Entity(ResolveEntityTypeName(name, ns, n.Offset));
        }

        if (name.StartsWith("__cedar::", StringComparison.Ordinal))
        {
            return Builtin(name["__cedar::".Length..]) ?? throw Error(CedarSchemaErrorCode.UndefinedType, n.Offset, $"`{name}` is not a built-in type");
        }

        if (name.Contains("::", StringComparison.Ordinal))
        {
            if (_commonRaw.ContainsKey(name))
            {
                return ResolveCommon(name, n.Offset);
            }

            if (_entityRaw.ContainsKey(name))
            {
                return StaticType.Entity(name);
            }
        }
        else
        {
            if (ns.Length > 0)
            {
                var q = Qualify(ns, name);
                if (_commonRaw.ContainsKey(q))
                {
                    return ResolveCommon(q, n.Offset);
                }

                if (_entityRaw.ContainsKey(q))
                {
                    return StaticType.Entity(q);
                }
            }

            if (_commonRaw.ContainsKey(name))
            {
                return ResolveCommon(name, n.Offset);
            }

            if (_entityRaw.ContainsKey(name))
            {
                return StaticType.Entity(name);
            }

            if (Builtin(name) is { } builtin)
            {
                return builtin;
            }
        }

        throw Error(CedarSchemaErrorCode.UndefinedType, n.Offset, $"type `{name}` is not declared (not a common type, entity type or built-in type)");
    }

    private static StaticType? Builtin(string name) => name switch
    {
        "String" => StaticType.String,
        "Long" => StaticType.Long,
        "Bool" => StaticType.Bool,
        "ipaddr" or "decimal" or "datetime" or "duration" => StaticType.Extension(name),
        _ => null,
    };

    private CedarSchemaException Error(CedarSchemaErrorCode code, int offset, string detail) =>
        new(code, offset < 0 ? default : SourcePosition.At(_text, offset), detail);
}
