using System.Text.Json;

namespace GrantSilo.Cedar.Schema;

/// <summary>Reads Cedar's JSON schema format into unresolved declarations; <see cref="SchemaBuilder"/> resolves names.</summary>
internal static class SchemaJsonParser
{
    public static List<RawNamespace> Parse(string json)
    {
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(json, new JsonDocumentOptions { MaxDepth = 256 });
        }
        catch (JsonException e)
        {
            throw CedarSchema.JsonError(json, e);
        }

        using (doc)
        {
            var root = doc.RootElement;
            Require(root, JsonValueKind.Object, "the schema");
            var namespaces = new List<RawNamespace>();
            foreach (var nsProp in root.EnumerateObject())
            {
                var ns = new RawNamespace(nsProp.Name, -1);
                var path = nsProp.Name.Length == 0 ? "(empty namespace)" : nsProp.Name;
                if (nsProp.Name.Length > 0 && !SchemaNames.IsPath(nsProp.Name))
                {
                    throw Invalid($"invalid namespace `{nsProp.Name}`; expected identifiers joined by `::`");
                }
                Require(nsProp.Value, JsonValueKind.Object, path);
                foreach (var required in new[] { "entityTypes", "actions" })
                {
                    if (!nsProp.Value.TryGetProperty(required, out _))
                    {
                        throw Invalid($"{path}: missing field `{required}`");
                    }
                }

                if (nsProp.Name.Length == 0 && nsProp.Value.TryGetProperty("annotations", out _))
                {
                    throw Invalid("annotations are not allowed on the empty namespace");
                }
                foreach (var section in nsProp.Value.EnumerateObject())
                {
                    switch (section.Name)
                    {
                        case "entityTypes":
                            Require(section.Value, JsonValueKind.Object, path + ".entityTypes");
                            foreach (var e in LastOfEach(section.Value))
                            {
                                RequireIdentifier(e.Name, path + ".entityTypes");
                                ns.EntityTypes.Add(EntityType(e.Name, e.Value, $"{path}.entityTypes.{e.Name}"));
                            }

                            break;
                        case "actions":
                            Require(section.Value, JsonValueKind.Object, path + ".actions");
                            foreach (var a in LastOfEach(section.Value))
                            {
                                ns.Actions.Add(Action(a.Name, a.Value, $"{path}.actions.{a.Name}"));
                            }

                            break;
                        case "commonTypes":
                            Require(section.Value, JsonValueKind.Object, path + ".commonTypes");
                            foreach (var c in LastOfEach(section.Value))
                            {
                                RequireIdentifier(c.Name, path + ".commonTypes");
                                ns.CommonTypes.Add((c.Name, Type(c.Value, $"{path}.commonTypes.{c.Name}", TypePosition.CommonType), -1));
                            }

                            break;
                        case "annotations":
                            Annotations(section.Value, path + ".annotations");
                            break;
                        default:
                            throw Invalid($"{path}: unknown field `{section.Name}`; expected entityTypes, actions, commonTypes or annotations");
                    }
                }

                namespaces.Add(ns);
            }

            return namespaces;
        }
    }

    private static RawEntityType EntityType(string name, JsonElement e, string path)
    {
        if (e.ValueKind == JsonValueKind.Array && e.GetArrayLength() == 0)
        {
            // Cedar (serde) reads an empty array as an entity type with no fields.
            return new RawEntityType(name, [], null, null, null, -1);
        }

        Require(e, JsonValueKind.Object, path);
        var parents = new List<(string, int)>();
        RawType? shape = null;
        RawType? tags = null;
        List<string>? choices = null;
        foreach (var p in e.EnumerateObject())
        {
            switch (p.Name)
            {
                case "memberOfTypes":
                    parents = Paths(p.Value, path + ".memberOfTypes");
                    break;
                case "shape":
                    shape = Type(p.Value, path + ".shape");
                    break;
                case "tags":
                    tags = Type(p.Value, path + ".tags");
                    break;
                case "enum":
                    choices = Strings(p.Value, path + ".enum");
                    if (choices.Count == 0)
                    {
                        throw new CedarSchemaException(CedarSchemaErrorCode.InvalidEnum, default, $"{path}.enum: an enumerated entity type needs at least one choice");
                    }

                    break;
                case "annotations":
                    Annotations(p.Value, path + ".annotations");
                    break;
                default:
                    throw Invalid($"{path}: unknown field `{p.Name}`");
            }
        }

        if (choices is not null && (shape is not null || tags is not null || e.TryGetProperty("memberOfTypes", out _)))
        {
            throw Invalid($"{path}: an enumerated entity type has no shape, tags or parents");
        }

        return new RawEntityType(name, parents, shape, tags, choices, -1);
    }

    private static RawAction Action(string name, JsonElement a, string path)
    {
        if (a.ValueKind == JsonValueKind.Array && a.GetArrayLength() == 0)
        {
            // Cedar (serde) reads an empty array as an action with no fields.
            return new RawAction(name, [], false, [], [], null, -1);
        }

        Require(a, JsonValueKind.Object, path);
        var parents = new List<RawActionRef>();
        var hasAppliesTo = false;
        var principals = new List<(string, int)>();
        var resources = new List<(string, int)>();
        RawType? context = null;
        foreach (var p in a.EnumerateObject())
        {
            switch (p.Name)
            {
                case "memberOf":
                    if (p.Value.ValueKind == JsonValueKind.Null)
                    {
                        break;
                    }

                    Require(p.Value, JsonValueKind.Array, path + ".memberOf");
                    foreach (var m in p.Value.EnumerateArray())
                    {
                        Require(m, JsonValueKind.Object, path + ".memberOf[]");
                        OnlyFields(m, path + ".memberOf[]", [], "id", "type");
                        var id = m.TryGetProperty("id", out var idEl) && idEl.ValueKind == JsonValueKind.String
                            ? idEl.GetString()!
                            : throw Invalid($"{path}.memberOf: each entry needs a string `id`");
                        string? type = m.TryGetProperty("type", out var typeEl) && typeEl.ValueKind == JsonValueKind.String ? typeEl.GetString() : null;
                        if (type is not null && !SchemaNames.IsPath(type))
                        {
                            throw Invalid($"{path}.memberOf: `{type}` is not a valid action type");
                        }

                        parents.Add(new RawActionRef(type, id, -1));
                    }

                    break;
                case "appliesTo":
                    if (p.Value.ValueKind == JsonValueKind.Null)
                    {
                        break;
                    }

                    Require(p.Value, JsonValueKind.Object, path + ".appliesTo");
                    hasAppliesTo = true;
                    foreach (var required in new[] { "principalTypes", "resourceTypes" })
                    {
                        if (!p.Value.TryGetProperty(required, out _))
                        {
                            throw Invalid($"{path}.appliesTo: missing field `{required}`");
                        }
                    }

                    foreach (var q in p.Value.EnumerateObject())
                    {
                        switch (q.Name)
                        {
                            case "principalTypes":
                                principals = Paths(q.Value, path + ".appliesTo.principalTypes");
                                break;
                            case "resourceTypes":
                                resources = Paths(q.Value, path + ".appliesTo.resourceTypes");
                                break;
                            case "context":
                                context = Type(q.Value, path + ".appliesTo.context");
                                break;
                            default:
                                throw Invalid($"{path}.appliesTo: unknown field `{q.Name}`");
                        }
                    }

                    break;
                case "attributes":
                    break;
                case "annotations":
                    Annotations(p.Value, path + ".annotations");
                    break;
                default:
                    throw Invalid($"{path}: unknown field `{p.Name}`");
            }
        }

        return new RawAction(name, parents, hasAppliesTo, principals, resources, context, -1);
    }

    /// <summary>Where a type appears decides which extra fields it may have, as in Cedar's JSON format.</summary>
    private enum TypePosition
    {
        Nested,
        Attribute,
        CommonType,
    }

    // The members of a map-like object (declarations by name) as Cedar reads them: a name given twice is its last value,
    // and the earlier ones are never read, so never checked; in the order the names first appear.
    private static IEnumerable<(string Name, JsonElement Value)> LastOfEach(JsonElement map)
    {
        var values = new Dictionary<string, JsonElement>(StringComparer.Ordinal);
        var order = new List<string>();
        foreach (var member in map.EnumerateObject())
        {
            if (!values.ContainsKey(member.Name))
            {
                order.Add(member.Name);
            }

            values[member.Name] = member.Value;
        }

        return order.Select(name => (name, values[name]));
    }

    private static RawType Type(JsonElement t, string path, TypePosition position = TypePosition.Nested)
    {
        Require(t, JsonValueKind.Object, path);
        string[] extraFields = position switch
        {
            TypePosition.Attribute => ["required", "annotations"],
            TypePosition.CommonType => ["annotations"],
            _ => [],
        };
        if (position != TypePosition.Nested && t.TryGetProperty("annotations", out var annotations))
        {
            Annotations(annotations, path + ".annotations");
        }

        if (position == TypePosition.Attribute && t.TryGetProperty("required", out var requiredEl) && requiredEl.ValueKind is not (JsonValueKind.True or JsonValueKind.False))
        {
            throw Invalid($"{path}: `required` must be true or false");
        }
        if (!t.TryGetProperty("type", out var typeEl) || typeEl.ValueKind != JsonValueKind.String)
        {
            throw Invalid($"{path}: a type needs a string `type` field");
        }

        string Name() => t.TryGetProperty("name", out var n) && n.ValueKind == JsonValueKind.String
            ? (SchemaNames.IsPath(n.GetString()!) ? n.GetString()! : throw Invalid($"{path}: invalid type name `{n.GetString()}`"))
            : throw Invalid($"{path}: a `{typeEl.GetString()}` type needs a string `name` field");

        switch (typeEl.GetString())
        {
            case "Long":
                OnlyFields(t, path, extraFields, "type");
                return new RawNamedType("Long", NameKind.Primitive, -1);
            case "String":
                OnlyFields(t, path, extraFields, "type");
                return new RawNamedType("String", NameKind.Primitive, -1);
            case "Boolean":
                OnlyFields(t, path, extraFields, "type");
                return new RawNamedType("Bool", NameKind.Primitive, -1);
            case "Set":
                OnlyFields(t, path, extraFields, "type", "element");
                if (!t.TryGetProperty("element", out var element))
                {
                    throw Invalid($"{path}: a Set type needs an `element` type");
                }

                return new RawSetType(Type(element, path + ".element"), -1);
            case "Record":
                OnlyFields(t, path, extraFields, "type", "attributes", "additionalAttributes");
                if (!t.TryGetProperty("attributes", out _))
                {
                    throw Invalid($"{path}: a Record type needs `attributes`");
                }

                var attrs = new List<RawAttribute>();
                if (t.TryGetProperty("additionalAttributes", out var extra) && extra.ValueKind != JsonValueKind.False)
                {
                    throw Invalid(extra.ValueKind == JsonValueKind.True
                        ? $"{path}: records with additionalAttributes are not supported"
                        : $"{path}: `additionalAttributes` must be true or false");
                }

                if (t.TryGetProperty("attributes", out var attributes))
                {
                    Require(attributes, JsonValueKind.Object, path + ".attributes");
                    foreach (var (name, value) in LastOfEach(attributes))
                    {
                        var required = !(value.ValueKind == JsonValueKind.Object && value.TryGetProperty("required", out var r) && r.ValueKind == JsonValueKind.False);
                        attrs.Add(new RawAttribute(name, Type(value, $"{path}.attributes.{name}", TypePosition.Attribute), required, -1));
                    }
                }

                return new RawRecordType(attrs, -1);
            case "Entity":
                OnlyFields(t, path, extraFields, "type", "name");
                return new RawNamedType(Name(), NameKind.Entity, -1);
            case "Extension":
                OnlyFields(t, path, extraFields, "type", "name");
                return new RawNamedType(Name(), NameKind.Extension, -1);
            case "EntityOrCommon":
                OnlyFields(t, path, extraFields, "type", "name");
                return new RawNamedType(Name(), NameKind.EntityOrCommon, -1);
            case var other:
                OnlyFields(t, path, extraFields, "type");
                if (!SchemaNames.IsPath(other!))
                {
                    throw Invalid($"{path}: invalid type name `{other}`");
                }

                return new RawNamedType(other!, NameKind.EntityOrCommon, -1);
        }
    }

    /// <summary>Annotations carry no meaning for validation, but must have Cedar's shape: identifier keys, string (or null) values.</summary>
    private static void Annotations(JsonElement a, string path)
    {
        Require(a, JsonValueKind.Object, path);
        foreach (var p in a.EnumerateObject())
        {
            var key = p.Name;
            var validKey = key.Length > 0 && (char.IsAsciiLetter(key[0]) || key[0] == '_') && key.All(c => char.IsAsciiLetterOrDigit(c) || c == '_');
            if (!validKey || p.Value.ValueKind is not (JsonValueKind.String or JsonValueKind.Null))
            {
                throw Invalid($"{path}: annotation `{key}` needs an identifier name and a string value");
            }
        }
    }

    private static void RequireIdentifier(string name, string path)
    {
        if (!SchemaNames.IsIdentifier(name))
        {
            throw Invalid($"{path}: `{name}` is not a valid name (an identifier that is not a reserved word)");
        }
    }

    private static List<(string, int)> Paths(JsonElement e, string path)
    {
        Require(e, JsonValueKind.Array, path);
        var list = new List<(string, int)>(e.GetArrayLength());
        foreach (var x in e.EnumerateArray())
        {
            var name = x.ValueKind == JsonValueKind.String ? x.GetString()! : throw Invalid($"{path}: expected strings");
            list.Add(SchemaNames.IsPath(name) ? (name, -1) : throw Invalid($"{path}: `{name}` is not a valid entity type name"));
        }

        return list;
    }

    private static void OnlyFields(JsonElement e, string path, string[] extra, params string[] allowed)
    {
        foreach (var p in e.EnumerateObject())
        {
            if (Array.IndexOf(allowed, p.Name) < 0 && Array.IndexOf(extra, p.Name) < 0)
            {
                throw Invalid($"{path}: unknown field `{p.Name}`; expected one of {string.Join(", ", allowed.Concat(extra).Select(a => $"`{a}`"))}");
            }
        }
    }

    private static List<string> Strings(JsonElement e, string path)
    {
        Require(e, JsonValueKind.Array, path);
        return [.. e.EnumerateArray().Select(x => x.ValueKind == JsonValueKind.String ? x.GetString()! : throw Invalid($"{path}: expected strings"))];
    }

    private static void Require(JsonElement e, JsonValueKind kind, string path)
    {
        if (e.ValueKind != kind)
        {
            throw Invalid($"{path}: expected a JSON {kind.ToString().ToLowerInvariant()}, got {e.ValueKind.ToString().ToLowerInvariant()}");
        }
    }

    private static CedarSchemaException Invalid(string detail) => new(CedarSchemaErrorCode.InvalidJson, default, detail);
}
