using System.Text.Json;
using GrantSilo.Cedar.Schema;
using GrantSilo.Cedar.Validation;

namespace GrantSilo.Cedar;

/// <summary>
/// A Cedar schema: the entity types (attributes, parents, tags, enumerated ids) and actions (groups, <c>appliesTo</c>
/// principal and resource types, context type) that policies, requests and entities are validated against.
/// Immutable and thread-safe. Parse it from the human-readable format with <see cref="Parse"/> or from the JSON
/// format with <see cref="ParseJson"/>.
/// </summary>
public sealed class CedarSchema
{
    private readonly Dictionary<string, SchemaEntityType> _entityTypes;
    private readonly Dictionary<EntityUid, SchemaAction> _actions;
    private List<RequestEnvironment>? _environments;

    internal CedarSchema(Dictionary<string, SchemaEntityType> entityTypes, Dictionary<EntityUid, SchemaAction> actions)
    {
        _entityTypes = entityTypes;
        _actions = actions;
    }

    /// <summary>Every declared entity type, fully qualified (<c>Acme::User</c>).</summary>
    public IReadOnlyCollection<string> EntityTypes => _entityTypes.Keys;

    /// <summary>Every declared action (<c>Action::"read"</c>, <c>Acme::Action::"read"</c>).</summary>
    public IReadOnlyCollection<EntityUid> Actions => _actions.Keys;

    internal IEnumerable<SchemaEntityType> EntityTypeDefinitions => _entityTypes.Values;

    internal IEnumerable<SchemaAction> ActionDefinitions => _actions.Values;

    /// <summary>Parses the human-readable schema format (<c>.cedarschema</c>).</summary>
    /// <exception cref="CedarSchemaException">The text is not a valid schema; the exception has the code and position.</exception>
    public static CedarSchema Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return SchemaBuilder.Build(SchemaTextParser.Parse(text), text);
    }

    /// <summary>Parses Cedar's JSON schema format.</summary>
    /// <exception cref="CedarSchemaException">The JSON is not a valid schema; the exception has the code and position.</exception>
    public static CedarSchema ParseJson(string json)
    {
        ArgumentNullException.ThrowIfNull(json);
        return SchemaBuilder.Build(SchemaJsonParser.Parse(json), json);
    }

    /// <summary>Parses the human-readable format without throwing.</summary>
    public static bool TryParse(string text, out CedarSchema? schema, out CedarSchemaException? error) =>
        Try(() => Parse(text), out schema, out error);

    /// <summary>Parses the JSON format without throwing.</summary>
    public static bool TryParseJson(string json, out CedarSchema? schema, out CedarSchemaException? error) =>
        Try(() => ParseJson(json), out schema, out error);

    private static bool Try(Func<CedarSchema> parse, out CedarSchema? schema, out CedarSchemaException? error)
    {
        try
        {
            schema = parse();
            error = null;
            return true;
        }
        catch (CedarSchemaException e)
        {
            schema = null;
            error = e;
            return false;
        }
    }

    /// <summary>
    /// Checks a request as Cedar's request validation does: the action is declared, its <c>appliesTo</c> allows the
    /// principal's and resource's types, enumerated ids are valid, and the context has the action's context type.
    /// </summary>
    /// <returns>Every violation; empty when the request conforms.</returns>
    public IReadOnlyList<SchemaViolation> ValidateRequest(AuthorizationRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        return SchemaConformance.CheckRequest(this, request);
    }

    /// <summary>
    /// Checks entities as Cedar's entity conformance does: declared types, valid enumerated ids, attributes and tags of
    /// the declared types (required ones present, no undeclared ones), and parents of allowed types.
    /// </summary>
    /// <returns>Every violation; empty when all entities conform.</returns>
    public IReadOnlyList<SchemaViolation> ValidateEntities(IEnumerable<Entity> entities)
    {
        ArgumentNullException.ThrowIfNull(entities);
        return [.. entities.SelectMany(e => SchemaConformance.CheckEntity(this, e))];
    }

    /// <summary>The action entities the schema declares, with their groups as parents (Cedar adds them to entity data).</summary>
    public IEnumerable<Entity> ActionEntities() =>
        _actions.Values.Select(a => new Entity(a.Uid, attributes: null, parents: a.Parents, tags: null));

    /// <summary>Whether the schema declares the entity type.</summary>
    public bool IsEntityTypeDeclared(string entityType) => _entityTypes.ContainsKey(entityType);

    /// <summary>Whether the schema declares the action.</summary>
    public bool IsActionDeclared(EntityUid action) => _actions.ContainsKey(action);

    internal bool TryGetEntityType(string name, out SchemaEntityType entityType) => _entityTypes.TryGetValue(name, out entityType!);

    internal bool TryGetAction(EntityUid uid, out SchemaAction action) => _actions.TryGetValue(uid, out action!);

    /// <summary>A type is an action entity type when its last name component is <c>Action</c>.</summary>
    internal static bool IsActionType(string type) => type == "Action" || type.EndsWith("::Action", StringComparison.Ordinal);

    /// <summary>Entity types and action entity types count as known; action entity types need not be declared.</summary>
    internal bool IsKnownEntityType(string type) => IsActionType(type) || _entityTypes.ContainsKey(type);

    /// <summary>The type and every type that can be a (transitive) member of it.</summary>
    internal IEnumerable<string> TypesIn(string type)
    {
        if (_entityTypes.TryGetValue(type, out var et))
        {
            foreach (var d in et.Descendants)
            {
                yield return d;
            }
        }

        yield return type;
    }

    /// <summary>Every action in the groups (and the groups themselves), or null when one of them is not declared.</summary>
    internal List<EntityUid>? ActionsIn(IEnumerable<EntityUid> groups)
    {
        var result = new List<EntityUid>();
        foreach (var g in groups)
        {
            if (!_actions.TryGetValue(g, out var a))
            {
                return null;
            }

            result.AddRange(a.Descendants);
            result.Add(g);
        }

        return result;
    }

    /// <summary>Every (principal type, action, resource type) combination the schema allows, in a stable order.</summary>
    internal IReadOnlyList<RequestEnvironment> Environments => _environments ??= BuildEnvironments();

    private List<RequestEnvironment> BuildEnvironments()
    {
        var list = new List<RequestEnvironment>();
        foreach (var action in _actions.Values)
        {
            foreach (var p in action.Principals)
            {
                foreach (var r in action.Resources)
                {
                    list.Add(new RequestEnvironment(p, action, r));
                }
            }
        }

        return list;
    }

    internal static CedarSchemaException JsonError(string json, JsonException e)
    {
        var line = (int)(e.LineNumber ?? 0) + 1;
        var column = (int)(e.BytePositionInLine ?? 0) + 1;
        return new CedarSchemaException(CedarSchemaErrorCode.InvalidJson, new SourcePosition(0, line, column), e.Message);
    }
}

/// <summary>A resolved entity type of a schema.</summary>
internal sealed class SchemaEntityType(string name, StaticType attributes, StaticType? tags, string[]? enumChoices, string[] parents)
{
    public string Name { get; } = name;

    /// <summary>A closed record type.</summary>
    public StaticType Attributes { get; } = attributes;

    public StaticType? Tags { get; } = tags;

    public string[]? EnumChoices { get; } = enumChoices;

    /// <summary>Declared direct parent types.</summary>
    public string[] Parents { get; } = parents;

    /// <summary>Every type that can be a transitive member of this one (filled in by the builder).</summary>
    public HashSet<string> Descendants { get; } = new(StringComparer.Ordinal);
}

/// <summary>A resolved action of a schema.</summary>
internal sealed class SchemaAction(EntityUid uid, EntityUid[] parents, string[] principals, string[] resources, StaticType context)
{
    public EntityUid Uid { get; } = uid;

    public EntityUid[] Parents { get; } = parents;

    public string[] Principals { get; } = principals;

    public string[] Resources { get; } = resources;

    /// <summary>A closed record type.</summary>
    public StaticType Context { get; } = context;

    /// <summary>Every action that is a transitive member of this one (filled in by the builder).</summary>
    public HashSet<EntityUid> Descendants { get; } = [];
}

/// <summary>One request shape a policy is type-checked under.</summary>
internal sealed record RequestEnvironment(string Principal, SchemaAction Action, string Resource)
{
    public StaticType PrincipalType { get; } = StaticType.Entity(Principal);

    public StaticType ResourceType { get; } = StaticType.Entity(Resource);
}
