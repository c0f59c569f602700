namespace GrantSilo.Cedar.Tests.Validation;

public sealed class RequestAndEntityValidationTests
{
    private static readonly CedarSchema Schema = CedarSchema.Parse("""
        entity Person;
        entity Group;
        entity Agent in [Group] = { owner: Person, ceiling?: Long };
        entity Doc = { owner: Person, network: ipaddr } tags Long;
        entity Level enum ["low", "high"];
        action read appliesTo { principal: [Agent], resource: [Doc], context: { depth: Long, level?: Level } };
        action group;
        action delete in [group] appliesTo { principal: Agent, resource: Doc };
        """);

    private static readonly EntityUid Agent = new("Agent", "a");
    private static readonly EntityUid Doc = new("Doc", "d");
    private static readonly EntityUid Read = new("Action", "read");

    [Fact]
    public void ValidateRequest_AcceptsRequestThatFitsAppliesToAndContext()
    {
        var request = new AuthorizationRequest(Agent, Read, Doc, CedarValue.Record([new("depth", CedarValue.FromLong(1)), new("level", new EntityUid("Level", "low"))]));

        Assert.Empty(Schema.ValidateRequest(request));
    }

    [Theory]
    [InlineData("Person", "Doc", "read", """{"depth": 1}""", SchemaViolationCode.PrincipalTypeNotAllowed)]
    [InlineData("Agent", "Agent", "read", """{"depth": 1}""", SchemaViolationCode.ResourceTypeNotAllowed)]
    [InlineData("Agent", "Doc", "write", """{"depth": 1}""", SchemaViolationCode.UndeclaredAction)]
    [InlineData("Robot", "Doc", "read", """{"depth": 1}""", SchemaViolationCode.UndeclaredEntityType)]
    [InlineData("Agent", "Doc", "read", """{}""", SchemaViolationCode.MissingAttribute)]
    [InlineData("Agent", "Doc", "read", """{"depth": "1"}""", SchemaViolationCode.TypeMismatch)]
    [InlineData("Agent", "Doc", "read", """{"depth": 1, "purpose": "x"}""", SchemaViolationCode.UnexpectedAttribute)]
    [InlineData("Agent", "Doc", "read", """{"depth": 1, "level": {"type": "Level", "id": "medium"}}""", SchemaViolationCode.InvalidEnumId)]
    public void ValidateRequest_ReportsWhatDoesNotFit(string principalType, string resourceType, string action, string context, SchemaViolationCode code)
    {
        var actionUid = new EntityUid("Action", action);
        using var doc = System.Text.Json.JsonDocument.Parse(context);
        var request = new AuthorizationRequest(
            new EntityUid(principalType, "x"),
            actionUid,
            new EntityUid(resourceType, "y"),
            CedarJson.ParseContext(doc.RootElement, Schema, actionUid));

        var violation = Assert.Single(Schema.ValidateRequest(request));

        Assert.Equal(code, violation.Code);
        Assert.False(string.IsNullOrWhiteSpace(violation.Message));
    }

    [Fact]
    public void ParseEntities_WithSchema_ReadsEntityReferencesAndExtensionsWhereTheSchemaSaysSo()
    {
        var store = CedarJson.ParseEntities("""
            [ { "uid": {"type": "Doc", "id": "d"},
                "attrs": { "owner": {"type": "Person", "id": "p"}, "network": {"fn": "ip", "arg": "10.0.0.0/8"} },
                "parents": [], "tags": { "n": 3 } },
              { "uid": {"type": "Agent", "id": "a"}, "attrs": { "owner": {"type": "Person", "id": "p"} }, "parents": [{"type": "Group", "id": "g"}] } ]
            """, Schema);

        Assert.True(store.TryGet(Doc, out var doc));
        Assert.Equal(new EntityUid("Person", "p"), doc.Attributes["owner"]);
        Assert.Equal(CedarValue.Ip("10.0.0.0/8"), doc.Attributes["network"]);
        Assert.True(store.IsInOrEqual(new EntityUid("Action", "delete"), new EntityUid("Action", "group")));
    }

    [Theory]
    [InlineData("""[{"uid": {"type": "Doc", "id": "d"}, "attrs": {"owner": {"type": "Person", "id": "p"}}, "parents": []}]""", "network")]
    [InlineData("""[{"uid": {"type": "Agent", "id": "a"}, "attrs": {"owner": {"type": "Person", "id": "p"}, "ceiling": "high"}, "parents": []}]""", "ceiling")]
    [InlineData("""[{"uid": {"type": "Agent", "id": "a"}, "attrs": {"owner": {"type": "Person", "id": "p"}}, "parents": [{"type": "Doc", "id": "d"}]}]""", "parents")]
    [InlineData("""[{"uid": {"type": "Robot", "id": "r"}, "attrs": {}, "parents": []}]""", "Robot")]
    [InlineData("""[{"uid": {"type": "Level", "id": "medium"}, "attrs": {}, "parents": []}]""", "Level")]
    [InlineData("""[{"uid": {"type": "Person", "id": "p"}, "attrs": {}, "parents": [], "tags": {"t": 1}}]""", "tags")]
    [InlineData("""[{"uid": {"type": "Action", "id": "delete"}, "attrs": {}, "parents": []}]""", "Action")]
    public void ParseEntities_WithSchema_RejectsNonConformingEntities(string json, string pathPart)
    {
        var e = Assert.Throws<CedarJsonException>(() => CedarJson.ParseEntities(json, Schema));

        Assert.Contains(pathPart, e.JsonPath + e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ParseEntities_WithSchema_ReadsAStringAsTheDeclaredExtensionType()
    {
        var store = CedarJson.ParseEntities("""
            [{ "uid": {"type": "Doc", "id": "d"}, "attrs": { "owner": {"type": "Person", "id": "p"}, "network": "10.0.0.0/8" }, "parents": [] }]
            """, Schema);
        var bad = Assert.Throws<CedarJsonException>(() => CedarJson.ParseEntities("""
            [{ "uid": {"type": "Doc", "id": "d"}, "attrs": { "owner": {"type": "Person", "id": "p"}, "network": "not an ip" }, "parents": [] }]
            """, Schema));

        Assert.True(store.TryGet(Doc, out var doc));
        Assert.Equal(CedarValue.Ip("10.0.0.0/8"), doc.Attributes["network"]);
        Assert.Contains("network", bad.JsonPath, StringComparison.Ordinal);
    }

    [Fact]
    public void ValidateEntities_ReportsEveryViolation()
    {
        var entities = new[]
        {
            new Entity(Agent, [new("owner", CedarValue.FromString("p")), new("extra", CedarValue.FromLong(1))]),
            new Entity(Doc, [new("owner", new EntityUid("Person", "p")), new("network", CedarValue.Ip("::1"))], tags: [new("t", CedarValue.FromString("s"))]),
        };

        var violations = Schema.ValidateEntities(entities);

        Assert.Equal(
            [SchemaViolationCode.TypeMismatch, SchemaViolationCode.UnexpectedAttribute, SchemaViolationCode.TypeMismatch],
            violations.Select(v => v.Code));
        Assert.Equal("Doc::\"d\".tags.t", violations[2].Path);
    }
}
