using System.Text.Json;

namespace GrantSilo.Policy.Schema;

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
                Require(nsProp.Value, JsonValueKind.Object, path);
                foreach (var section in nsProp.Value.EnumerateObject())
                {
                    switch (section.Name)
                    {
                        case "entityTypes":
                            Require(section.Value, JsonValueKind.Object, path + ".entityTypes");
                            foreach (var e in section.Value.EnumerateObject())
                            {
                                ns.EntityTypes.Add(EntityType(e.Name, e.Value, $"{path}.entityTypes.{e.Name}"));
                            }

                            break;
                        case "actions":
                            Require(section.Value, JsonValueKind.Object, path + ".actions");
                            foreach (var a in section.Value.EnumerateObject())
                            {
                                ns.Actions.Add(Action(a.Name, a.Value, $"{path}.actions.{a.Name}"));
                            }

                            break;
                        case "commonTypes":
                            Require(section.Value, JsonValueKind.Object, path + ".commonTypes");
                            foreach (var c in section.Value.EnumerateObject())
                            {
                                ns.CommonTypes.Add((c.Name, Type(c.Value, $"{path}.commonTypes.{c.Name}"), -1));
                            }

                            break;
                        case "annotations":
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
        Require(e, JsonValueKind.Object, path);
        var parents = new List<(string, int)>();
        RawRecordType? shape = null;
        RawType? tags = null;
        List<string>? choices = null;
        foreach (var p in e.EnumerateObject())
        {
            switch (p.Name)
            {
                case "memberOfTypes":
                    parents = [.. Strings(p.Value, path + ".memberOfTypes").Select(s => (s, -1))];
                    break;
                case "shape":
                    var t = Type(p.Value, path + ".shape");
                    shape = t as RawRecordType ?? throw Invalid($"{path}.shape: an entity shape must be a record type");
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
                    break;
                default:
                    throw Invalid($"{path}: unknown field `{p.Name}`");
            }
        }

        return new RawEntityType(name, parents, shape, tags, choices, -1);
    }

    private static RawAction Action(string name, JsonElement a, string path)
    {
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
                        var id = m.TryGetProperty("id", out var idEl) && idEl.ValueKind == JsonValueKind.String
                            ? idEl.GetString()!
                            : throw Invalid($"{path}.memberOf: each entry needs a string `id`");
                        string? type = m.TryGetProperty("type", out var typeEl) && typeEl.ValueKind == JsonValueKind.String ? typeEl.GetString() : null;
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
                    foreach (var q in p.Value.EnumerateObject())
                    {
                        switch (q.Name)
                        {
                            case "principalTypes":
                                principals = [.. Strings(q.Value, path + ".appliesTo.principalTypes").Select(s => (s, -1))];
                                break;
                            case "resourceTypes":
                                resources = [.. Strings(q.Value, path + ".appliesTo.resourceTypes").Select(s => (s, -1))];
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
                case "annotations":
                    break;
                default:
                    throw Invalid($"{path}: unknown field `{p.Name}`");
            }
        }

        return new RawAction(name, parents, hasAppliesTo, principals, resources, context, -1);
    }

    private static RawType Type(JsonElement t, string path)
    {
        Require(t, JsonValueKind.Object, path);
        if (!t.TryGetProperty("type", out var typeEl) || typeEl.ValueKind != JsonValueKind.String)
        {
            throw Invalid($"{path}: a type needs a string `type` field");
        }

        string Name() => t.TryGetProperty("name", out var n) && n.ValueKind == JsonValueKind.String
            ? n.GetString()!
            : throw Invalid($"{path}: a `{typeEl.GetString()}` type needs a string `name` field");

        switch (typeEl.GetString())
        {
            case "Long":
                return new RawNamedType("Long", NameKind.Primitive, -1);
            case "String":
                return new RawNamedType("String", NameKind.Primitive, -1);
            case "Boolean":
                return new RawNamedType("Bool", NameKind.Primitive, -1);
            case "Set":
                if (!t.TryGetProperty("element", out var element))
                {
                    throw Invalid($"{path}: a Set type needs an `element` type");
                }

                return new RawSetType(Type(element, path + ".element"), -1);
            case "Record":
                var attrs = new List<RawAttribute>();
                if (t.TryGetProperty("additionalAttributes", out var extra) && extra.ValueKind == JsonValueKind.True)
                {
                    throw Invalid($"{path}: records with additionalAttributes are not supported");
                }

                if (t.TryGetProperty("attributes", out var attributes))
                {
                    Require(attributes, JsonValueKind.Object, path + ".attributes");
                    foreach (var a in attributes.EnumerateObject())
                    {
                        attrs.RemoveAll(x => x.Name == a.Name);

                        var required = !(a.Value.ValueKind == JsonValueKind.Object && a.Value.TryGetProperty("required", out var r) && r.ValueKind == JsonValueKind.False);
                        attrs.Add(new RawAttribute(a.Name, Type(a.Value, $"{path}.attributes.{a.Name}"), required, -1));
                    }
                }

                return new RawRecordType(attrs, -1);
            case "Entity":
                return new RawNamedType(Name(), NameKind.Entity, -1);
            case "Extension":
                return new RawNamedType(Name(), NameKind.Extension, -1);
            case "EntityOrCommon":
                return new RawNamedType(Name(), NameKind.EntityOrCommon, -1);
            case var other:
                return new RawNamedType(other!, NameKind.EntityOrCommon, -1);
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
