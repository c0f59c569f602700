using System.Text.Json;
using GrantSilo.Cedar.Validation;
using GrantSilo.Cedar.Values;

namespace GrantSilo.Cedar;

/// <summary>The JSON input was not valid Cedar entity, value or request JSON. <see cref="JsonPath"/> says where.</summary>
public sealed class CedarJsonException : Exception
{
    /// <summary>Creates the exception.</summary>
    public CedarJsonException(string message, string jsonPath)
        : base($"{message} (at {jsonPath})")
    {
        JsonPath = jsonPath;
    }

    /// <summary>Creates the exception.</summary>
    public CedarJsonException()
        : this("invalid Cedar JSON", "$")
    {
    }

    /// <summary>Creates the exception.</summary>
    public CedarJsonException(string message)
        : this(message, "$")
    {
    }

    /// <summary>Creates the exception.</summary>
    public CedarJsonException(string message, Exception innerException)
        : base(message, innerException)
    {
        JsonPath = "$";
    }

    /// <summary>A JSON path to the offending element, for example <c>$[3].attrs.owner</c>.</summary>
    public string JsonPath { get; }
}

/// <summary>
/// Reads Cedar's JSON formats: entity lists (<c>[{"uid": {...}, "attrs": {...}, "parents": [...], "tags": {...}}]</c>),
/// entity uids (<c>{"type": "User", "id": "alice"}</c> or <c>{"__entity": {...}}</c>) and values, including
/// <c>{"__entity": ...}</c> and <c>{"__extn": {"fn": "ip", "arg": "10.0.0.1"}}</c> escapes.
/// Integers are read as 64-bit integers, never through floating point.
/// </summary>
public static class CedarJson
{
    private static readonly JsonDocumentOptions Options = new() { MaxDepth = 512 };

    /// <summary>Reads a JSON array of entities into an <see cref="EntityStore"/>.</summary>
    /// <param name="json">The entities JSON.</param>
    /// <param name="implicitEntityReferences">
    /// Read an attribute object with exactly the string fields <c>type</c> and <c>id</c> as an entity reference, as Cedar
    /// does when a schema declares the attribute as an entity. Without it (Cedar's schema-less default) such an object is a record.
    /// </param>
    /// <exception cref="CedarJsonException">The JSON is malformed or not in Cedar's entity format.</exception>
    public static EntityStore ParseEntities(string json, bool implicitEntityReferences = false) =>
        Read(json, e => new EntityStore(ParseEntityList(e, implicitEntityReferences)));

    /// <summary>
    /// Reads a JSON array of entities with a schema, as Cedar does: an attribute or tag whose declared type is an entity
    /// type may be written <c>{"type": ..., "id": ...}</c> without the <c>__entity</c> escape (and an extension value
    /// <c>{"fn": ..., "arg": ...}</c> without <c>__extn</c>); every entity must conform to the schema; and the schema's
    /// action entities (with their groups) are added unless the data lists them.
    /// </summary>
    /// <exception cref="CedarJsonException">The JSON is not in Cedar's entity format, or an entity does not conform to the schema.</exception>
    public static EntityStore ParseEntities(string json, CedarSchema schema)
    {
        ArgumentNullException.ThrowIfNull(schema);
        return Read(json, e => new EntityStore(ParseEntityList(e, schema)));
    }

    /// <summary>Reads a JSON array of entities with a schema; see <see cref="ParseEntities(string, CedarSchema)"/>.</summary>
    /// <exception cref="CedarJsonException">The JSON is not in Cedar's entity format, or an entity does not conform to the schema.</exception>
    public static IReadOnlyList<Entity> ParseEntityList(JsonElement array, CedarSchema schema)
    {
        ArgumentNullException.ThrowIfNull(schema);
        var entities = ParseEntityList(array, false, schema).ToList();
        foreach (var entity in entities)
        {
            var violations = SchemaConformance.CheckEntity(schema, entity);
            if (violations.Count > 0)
            {
                throw new CedarJsonException($"entity does not conform to the schema: {violations[0].Message}", violations[0].Path);
            }
        }

        var present = entities.Select(e => e.Uid).ToHashSet();
        entities.AddRange(schema.ActionEntities().Where(a => !present.Contains(a.Uid)));
        return entities;
    }

    /// <summary>
    /// Reads a request context with a schema: attributes are read with the types of <paramref name="action"/>'s context
    /// (so entity references need no <c>__entity</c> escape). The context is not checked against the type; use
    /// <see cref="CedarSchema.ValidateRequest"/> for that.
    /// </summary>
    /// <exception cref="CedarJsonException">The JSON is not a context object.</exception>
    public static CedarValue ParseContext(JsonElement element, CedarSchema schema, EntityUid action)
    {
        ArgumentNullException.ThrowIfNull(schema);
        if (!schema.TryGetAction(action, out var a))
        {
            return ParseContext(element);
        }

        if (element.ValueKind != JsonValueKind.Object)
        {
            throw new CedarJsonException("context must be a JSON object", "$");
        }

        return ParseTyped(element, a.Context, "$");
    }

    /// <summary>Reads a JSON array of entities.</summary>
    /// <param name="array">The entities JSON array.</param>
    /// <param name="implicitEntityReferences">See <see cref="ParseEntities(string, bool)"/>.</param>
    /// <exception cref="CedarJsonException">The JSON is not in Cedar's entity format.</exception>
    public static IReadOnlyList<Entity> ParseEntityList(JsonElement array, bool implicitEntityReferences = false) =>
        ParseEntityList(array, implicitEntityReferences, null);

    private static IReadOnlyList<Entity> ParseEntityList(JsonElement array, bool implicitEntityReferences, CedarSchema? schema)
    {
        if (array.ValueKind != JsonValueKind.Array)
        {
            throw new CedarJsonException("expected an array of entities", "$");
        }

        var entities = new List<Entity>();
        var byUid = new Dictionary<EntityUid, Entity>();
        var i = 0;
        foreach (var item in array.EnumerateArray())
        {
            var path = $"$[{i++}]";
            var entity = ParseEntity(item, path, implicitEntityReferences, schema);
            if (byUid.TryGetValue(entity.Uid, out var existing))
            {
                // As in Cedar, repeating an identical entity is harmless; conflicting entries are an error.
                if (!SameContent(existing, entity))
                {
                    throw new CedarJsonException($"duplicate entity entry {entity.Uid}", path);
                }

                continue;
            }

            byUid.Add(entity.Uid, entity);
            entities.Add(entity);
        }

        return entities;
    }

    /// <summary>Reads an entity uid: <c>{"type": ..., "id": ...}</c> or <c>{"__entity": {...}}</c>.</summary>
    /// <exception cref="CedarJsonException">The JSON is not an entity uid.</exception>
    public static EntityUid ParseEntityUid(string json) => Read(json, e => ParseEntityUid(e, "$"));

    /// <summary>Reads an entity uid: <c>{"type": ..., "id": ...}</c> or <c>{"__entity": {...}}</c>.</summary>
    /// <exception cref="CedarJsonException">The JSON is not an entity uid.</exception>
    public static EntityUid ParseEntityUid(JsonElement element) => ParseEntityUid(element, "$");

    /// <summary>Reads a Cedar value in JSON form.</summary>
    /// <exception cref="CedarJsonException">The JSON is not a valid Cedar value.</exception>
    public static CedarValue ParseValue(string json) => Read(json, e => ParseValue(e, "$", false));

    /// <summary>Reads a Cedar value in JSON form.</summary>
    /// <exception cref="CedarJsonException">The JSON is not a valid Cedar value.</exception>
    public static CedarValue ParseValue(JsonElement element) => ParseValue(element, "$", false);

    /// <summary>Reads a request context: a JSON object whose values are Cedar values.</summary>
    /// <exception cref="CedarJsonException">The JSON is not an object of Cedar values.</exception>
    public static CedarValue ParseContext(JsonElement element)
    {
        if (element.ValueKind != JsonValueKind.Object)
        {
            throw new CedarJsonException("the context must be a JSON object", "$");
        }

        return ParseRecord(element, "$", false);
    }

    /// <summary>Reads a request context: a JSON object whose values are Cedar values.</summary>
    /// <exception cref="CedarJsonException">The JSON is not an object of Cedar values.</exception>
    public static CedarValue ParseContext(string json) => Read(json, ParseContext);

    private static T Read<T>(string json, Func<JsonElement, T> read)
    {
        ArgumentNullException.ThrowIfNull(json);
        try
        {
            using var doc = JsonDocument.Parse(json, Options);
            return read(doc.RootElement);
        }
        catch (JsonException e)
        {
            throw new CedarJsonException($"malformed JSON: {e.Message}", e.Path ?? "$");
        }
    }

    private static Entity ParseEntity(JsonElement e, string path, bool implicitRefs, CedarSchema? schema)
    {
        if (e.ValueKind != JsonValueKind.Object)
        {
            throw new CedarJsonException("expected an entity object", path);
        }

        if (!e.TryGetProperty("uid", out var uidElement))
        {
            throw new CedarJsonException("entity is missing `uid`", path);
        }

        var uid = ParseEntityUid(uidElement, path + ".uid");
        if (!e.TryGetProperty("attrs", out var attrsElement))
        {
            throw new CedarJsonException("entity is missing `attrs`", path);
        }

        if (!e.TryGetProperty("parents", out var parentsElement))
        {
            throw new CedarJsonException("entity is missing `parents`", path);
        }

        SchemaEntityType? entityType = null;
        var typed = schema is not null && schema.TryGetEntityType(uid.Type, out entityType);
        var attrs = typed
            ? (ParseTyped(RequireObject(attrsElement, path + ".attrs"), entityType!.Attributes, path + ".attrs") as RecordValue
                ?? throw new CedarJsonException("`attrs` must be a record", path + ".attrs")).Attributes
            : ParseMembers(attrsElement, path + ".attrs", implicitRefs);

        var tags = new List<KeyValuePair<string, CedarValue>>();
        if (e.TryGetProperty("tags", out var tagsElement) && tagsElement.ValueKind != JsonValueKind.Null)
        {
            if (typed && entityType!.Tags is { } tagType)
            {
                foreach (var p in RequireObject(tagsElement, path + ".tags").EnumerateObject())
                {
                    tags.Add(new(p.Name, ParseTyped(p.Value, tagType, path + ".tags." + p.Name)));
                }
            }
            else
            {
                tags.AddRange(ParseMembers(tagsElement, path + ".tags", implicitRefs));
            }
        }

        if (parentsElement.ValueKind != JsonValueKind.Array)
        {
            throw new CedarJsonException("`parents` must be an array", path + ".parents");
        }

        var parents = new List<EntityUid>();
        var i = 0;
        foreach (var p in parentsElement.EnumerateArray())
        {
            parents.Add(ParseEntityUid(p, $"{path}.parents[{i++}]"));
        }

        return new Entity(uid, attrs, parents, tags);
    }

    private static JsonElement RequireObject(JsonElement e, string path) =>
        e.ValueKind == JsonValueKind.Object ? e : throw new CedarJsonException("expected a JSON object", path);

    /// <summary>Reads a value as the schema type says: entity types accept <c>{"type", "id"}</c>, extension types <c>{"fn", "arg"}</c>.</summary>
    private static CedarValue ParseTyped(JsonElement e, StaticType? type, string path)
    {
        if (type is null)
        {
            return ParseValue(e, path, false);
        }

        switch (type.Kind)
        {
            case TypeKind.Entity when e.ValueKind == JsonValueKind.Object:
                return ParseEntityUid(e, path);
            case TypeKind.Extension when e.ValueKind == JsonValueKind.Object && !e.TryGetProperty("__extn", out _) && e.TryGetProperty("fn", out _):
                return ParseExtension(e, path, false);
            case TypeKind.Extension when e.ValueKind == JsonValueKind.String:
                // With a schema, Cedar reads a string where an extension type is declared as that type's constructor argument.
                var constructor = type.Name == "ipaddr" ? "ip" : type.Name!;
                var value = ExtensionFunctions.All[constructor].Invoke(new StringValue(e.GetString()!), null, out var error);
                return value ?? throw new CedarJsonException(error ?? $"invalid {type.Name} value", path);
            case TypeKind.Set when e.ValueKind == JsonValueKind.Array:
                var items = new List<CedarValue>();
                var i = 0;
                foreach (var item in e.EnumerateArray())
                {
                    items.Add(ParseTyped(item, type.Element, $"{path}[{i++}]"));
                }

                return SetValue.Create(items);
            case TypeKind.Record when e.ValueKind == JsonValueKind.Object && !IsEscape(e):
                var members = new List<KeyValuePair<string, CedarValue>>();
                foreach (var p in e.EnumerateObject())
                {
                    members.Add(new(p.Name, ParseTyped(p.Value, type.Attributes.TryGetValue(p.Name, out var a) ? a.Type : null, path + "." + p.Name)));
                }

                return RecordValue.Create(members);
            default:
                return ParseValue(e, path, false);
        }
    }

    private static bool IsEscape(JsonElement e)
    {
        var count = 0;
        foreach (var unused in e.EnumerateObject())
        {
            if (++count > 1)
            {
                return false;
            }
        }

        return count == 1 && (e.TryGetProperty("__entity", out _) || e.TryGetProperty("__extn", out _));
    }

    private static bool SameContent(Entity a, Entity b) =>
        RecordValue.Create(a.Attributes).Equals(RecordValue.Create(b.Attributes)) &&
        RecordValue.Create(a.Tags).Equals(RecordValue.Create(b.Tags)) &&
        a.Parents.ToHashSet().SetEquals(b.Parents);

    private static IEnumerable<KeyValuePair<string, CedarValue>> ParseMembers(JsonElement obj, string path, bool implicitRefs)
    {
        if (obj.ValueKind != JsonValueKind.Object)
        {
            throw new CedarJsonException("expected a JSON object", path);
        }

        var list = new List<KeyValuePair<string, CedarValue>>();
        foreach (var p in obj.EnumerateObject())
        {
            list.Add(new(p.Name, ParseValue(p.Value, path + "." + p.Name, implicitRefs)));
        }

        return list;
    }

    private static EntityUid ParseEntityUid(JsonElement e, string path)
    {
        if (e.ValueKind == JsonValueKind.Object && e.TryGetProperty("__entity", out var inner))
        {
            e = inner;
            path += ".__entity";
        }

        if (e.ValueKind != JsonValueKind.Object ||
            !e.TryGetProperty("type", out var type) || type.ValueKind != JsonValueKind.String ||
            !e.TryGetProperty("id", out var id) || id.ValueKind != JsonValueKind.String)
        {
            throw new CedarJsonException("expected an entity uid {\"type\": ..., \"id\": ...}", path);
        }

        return new EntityUid(type.GetString()!, id.GetString()!);
    }

    private static CedarValue ParseValue(JsonElement e, string path, bool implicitRefs)
    {
        switch (e.ValueKind)
        {
            case JsonValueKind.True:
                return BoolValue.True;
            case JsonValueKind.False:
                return BoolValue.False;
            case JsonValueKind.String:
                return new StringValue(e.GetString()!);
            case JsonValueKind.Number:
                return e.TryGetInt64(out var n)
                    ? LongValue.Of(n)
                    : throw new CedarJsonException($"number {e.GetRawText()} is not a 64-bit integer", path);
            case JsonValueKind.Array:
                var items = new List<CedarValue>();
                var i = 0;
                foreach (var item in e.EnumerateArray())
                {
                    items.Add(ParseValue(item, $"{path}[{i++}]", implicitRefs));
                }

                return SetValue.Create(items);
            case JsonValueKind.Object:
                var count = 0;
                foreach (var unused in e.EnumerateObject())
                {
                    count++;
                }

                if (count == 1 && e.TryGetProperty("__entity", out _))
                {
                    return ParseEntityUid(e, path);
                }

                if (count == 1 && e.TryGetProperty("__extn", out var extn))
                {
                    return ParseExtension(extn, path + ".__extn", implicitRefs);
                }

                if (implicitRefs && count == 2 &&
                    e.TryGetProperty("type", out var type) && type.ValueKind == JsonValueKind.String &&
                    e.TryGetProperty("id", out var id) && id.ValueKind == JsonValueKind.String)
                {
                    return new EntityUid(type.GetString()!, id.GetString()!);
                }

                return ParseRecord(e, path, implicitRefs);
            default:
                throw new CedarJsonException($"unsupported JSON value {e.ValueKind}", path);
        }
    }

    private static RecordValue ParseRecord(JsonElement e, string path, bool implicitRefs) => RecordValue.Create(ParseMembers(e, path, implicitRefs));

    private static CedarValue ParseExtension(JsonElement e, string path, bool implicitRefs)
    {
        if (e.ValueKind != JsonValueKind.Object || !e.TryGetProperty("fn", out var fnElement) || fnElement.ValueKind != JsonValueKind.String)
        {
            throw new CedarJsonException("expected {\"fn\": ..., \"arg\": ...}", path);
        }

        var name = fnElement.GetString()!;
        if (!ExtensionFunctions.All.TryGetValue(name, out var fn))
        {
            throw new CedarJsonException($"unknown extension function `{name}`", path);
        }

        var args = new List<CedarValue>();
        if (e.TryGetProperty("arg", out var arg))
        {
            args.Add(ParseValue(arg, path + ".arg", implicitRefs));
        }
        else if (e.TryGetProperty("args", out var argArray) && argArray.ValueKind == JsonValueKind.Array)
        {
            var i = 0;
            foreach (var a in argArray.EnumerateArray())
            {
                args.Add(ParseValue(a, $"{path}.args[{i++}]", implicitRefs));
            }
        }

        if (args.Count != fn.Arity)
        {
            throw new CedarJsonException($"`{name}` takes {fn.Arity} argument(s), got {args.Count}", path);
        }

        var result = fn.Invoke(args[0], args.Count > 1 ? args[1] : null, out var error);
        return result ?? throw new CedarJsonException(error ?? $"`{name}` failed", path);
    }
}
