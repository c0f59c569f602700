namespace GrantSilo.Cedar.Tests.Validation;

public sealed class SchemaTests
{
    private const string Acme = """
        // A namespace with common types, a hierarchy, optional attributes, tags and an enum.
        namespace Acme {
          type Address = { street: String, zip?: String };
          @doc("a person")
          entity User in [Group] = { name: String, age?: Long, home: Address, manager?: User };
          entity Group;
          entity Doc in [Folder] { owner: User, classification: Long, tags: Set<String>, net: ipaddr } tags String;
          entity Folder;
          entity Color enum ["red", "green"];
          action read, "write" appliesTo { principal: [User], resource: Doc, context: { depth: Long, at?: datetime } };
          action admin in [read] appliesTo { principal: User, resource: [Doc, Folder] };
          action nothing;
        }
        entity Global;
        """;

    [Fact]
    public void Parse_HumanReadable_ResolvesNamespacesCommonTypesHierarchyAndActions()
    {
        var schema = CedarSchema.Parse(Acme);

        Assert.Equal(["Acme::Color", "Acme::Doc", "Acme::Folder", "Acme::Group", "Acme::User", "Global"], schema.EntityTypes.Order(StringComparer.Ordinal));
        Assert.Equal(
            ["Acme::Action::\"admin\"", "Acme::Action::\"nothing\"", "Acme::Action::\"read\"", "Acme::Action::\"write\""],
            schema.Actions.Select(a => a.ToString()).Order(StringComparer.Ordinal));
        Assert.Contains(schema.ActionEntities(), a => a.Uid.Equals(new EntityUid("Acme::Action", "admin")) && a.Parents.Single().Equals(new EntityUid("Acme::Action", "read")));
    }

    [Fact]
    public void ParseJson_AcceptsTheSameSchemaAndValidatesAlike()
    {
        var json = CedarSchema.ParseJson("""
            { "Acme": {
                "commonTypes": { "Address": { "type": "Record", "attributes": { "street": { "type": "String" }, "zip": { "type": "String", "required": false } } } },
                "entityTypes": {
                  "User": { "memberOfTypes": ["Group"], "shape": { "type": "Record", "attributes": {
                     "name": { "type": "String" }, "age": { "type": "Long", "required": false }, "home": { "type": "Address" },
                     "manager": { "type": "Entity", "name": "User", "required": false } } } },
                  "Group": {},
                  "Doc": { "memberOfTypes": ["Folder"], "shape": { "type": "Record", "attributes": {
                     "owner": { "type": "Entity", "name": "User" }, "classification": { "type": "Long" },
                     "tags": { "type": "Set", "element": { "type": "String" } }, "net": { "type": "Extension", "name": "ipaddr" } } },
                     "tags": { "type": "String" } },
                  "Folder": {},
                  "Color": { "enum": ["red", "green"] }
                },
                "actions": {
                  "read": { "appliesTo": { "principalTypes": ["User"], "resourceTypes": ["Doc"], "context": { "type": "Record", "attributes": {
                     "depth": { "type": "Long" }, "at": { "type": "Extension", "name": "datetime", "required": false } } } } },
                  "write": { "appliesTo": { "principalTypes": ["User"], "resourceTypes": ["Doc"], "context": { "type": "Record", "attributes": {
                     "depth": { "type": "Long" }, "at": { "type": "Extension", "name": "datetime", "required": false } } } } },
                  "admin": { "memberOf": [{ "id": "read" }], "appliesTo": { "principalTypes": ["User"], "resourceTypes": ["Doc", "Folder"] } },
                  "nothing": {}
                } },
              "": { "entityTypes": { "Global": {} }, "actions": {} } }
            """);
        var text = CedarSchema.Parse(Acme);
        var policies = PolicySet.Parse("""
            permit (principal, action == Acme::Action::"read", resource) when { resource.owner.home.zip == "1" };
            permit (principal in Acme::Group::"g", action == Acme::Action::"write", resource is Acme::Doc) when { principal has age && principal.age > context.depth };
            permit (principal, action, resource is Acme::Doc) when { resource.classification > 2 && resource.net.isLoopback() };
            """);

        var fromJson = new PolicyValidator(json).Validate(policies);
        var fromText = new PolicyValidator(text).Validate(policies);

        Assert.Equal(fromText.Errors.Select(e => (e.PolicyId, e.Code)), fromJson.Errors.Select(e => (e.PolicyId, e.Code)));
        Assert.Equal([("policy0", ValidationErrorCode.UnsafeOptionalAttributeAccess)], fromJson.Errors.Select(e => (e.PolicyId, e.Code)));
    }

    [Fact]
    public void Parse_SyntaxError_HasCodeAndLineAndColumn()
    {
        var e = Assert.Throws<CedarSchemaException>(() => CedarSchema.Parse("entity User;\nentity Doc = { owner User };"));

        Assert.Equal(CedarSchemaErrorCode.UnexpectedToken, e.Code);
        Assert.Equal(2, e.Position.Line);
        Assert.Equal(22, e.Position.Column);
        Assert.Contains("expected ':'", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("entity A = { b: Missing };", CedarSchemaErrorCode.UndefinedType, 1, 17)]
    [InlineData("entity A in [B];", CedarSchemaErrorCode.UndefinedEntityType, 1, 14)]
    [InlineData("entity A;\nentity A;", CedarSchemaErrorCode.DuplicateDeclaration, 2, 8)]
    [InlineData("@a @b(\"x\") @a entity A;", CedarSchemaErrorCode.DuplicateDeclaration, 1, 13)]
    [InlineData("action a in [b];", CedarSchemaErrorCode.UndefinedAction, 1, 14)]
    [InlineData("action a in [b];\naction b in [a];", CedarSchemaErrorCode.ActionHierarchyCycle, 1, 8)]
    [InlineData("type T = { a: U };\ntype U = T;", CedarSchemaErrorCode.CommonTypeCycle, 2, 10)]
    [InlineData("type Long = String;", CedarSchemaErrorCode.ReservedName, 1, 6)]
    [InlineData("entity A;\naction a appliesTo { principal: A, resource: A, context: A };", CedarSchemaErrorCode.InvalidContextType, 2, 58)]
    [InlineData("entity E enum [];", CedarSchemaErrorCode.InvalidEnum, 1, 8)]
    [InlineData("namespace N { entity A; }\nnamespace N { entity B; }", CedarSchemaErrorCode.DuplicateDeclaration, 2, 1)]
    [InlineData("entity A;\naction a appliesTo { principal: A };", CedarSchemaErrorCode.InvalidAppliesTo, 2, 35)]
    [InlineData("entity A;\naction a appliesTo { principal: [], resource: A };", CedarSchemaErrorCode.InvalidAppliesTo, 2, 49)]
    [InlineData("entity A = { a: \"x };", CedarSchemaErrorCode.UnterminatedString, 1, 17)]
    [InlineData("entity A # ;", CedarSchemaErrorCode.UnexpectedCharacter, 1, 10)]
    [InlineData("namespace N { entity A;", CedarSchemaErrorCode.UnexpectedEndOfInput, 1, 24)]
    public void Parse_InvalidSchema_ReportsCodeAndPosition(string text, CedarSchemaErrorCode code, int line, int column)
    {
        Assert.False(CedarSchema.TryParse(text, out var schema, out var error));

        Assert.Null(schema);
        Assert.Equal(code, error!.Code);
        Assert.Equal((line, column), (error.Position.Line, error.Position.Column));
    }

    [Theory]
    [InlineData("not json", CedarSchemaErrorCode.InvalidJson)]
    [InlineData("""{"": {"entityTypes": {"A": {"shape": {"type": "Long"}}}}}""", CedarSchemaErrorCode.InvalidJson)]
    [InlineData("""{"": {"entityTypes": {"A": {"memberOfTypes": ["B"]}}, "actions": {}}}""", CedarSchemaErrorCode.UndefinedEntityType)]
    [InlineData("""{"": {"entityTypes": {"A": {"shape": {"type": "Record", "attributes": {"x": {"type": "Nope"}}}}}, "actions": {}}}""", CedarSchemaErrorCode.UndefinedType)]
    [InlineData("""{"": {"entityTypes": {"A": {"shape": {"type": "Record", "attributes": {}, "extra": 1}}}, "actions": {}}}""", CedarSchemaErrorCode.InvalidJson)]
    [InlineData("""{"": {"entityTypes": {"if": {}}, "actions": {}}}""", CedarSchemaErrorCode.InvalidJson)]
    [InlineData("""{"": {"entityTypes": {}}}""", CedarSchemaErrorCode.InvalidJson)]
    [InlineData("""{"": {"commonTypes": {"T": {"type": "Long"}}, "entityTypes": {"A": {"shape": {"type": "T"}}}, "actions": {}}}""", CedarSchemaErrorCode.InvalidShape)]
    [InlineData("""{"": {"bogus": {}}}""", CedarSchemaErrorCode.InvalidJson)]
    public void ParseJson_InvalidSchema_ReportsCode(string json, CedarSchemaErrorCode code)
    {
        Assert.False(CedarSchema.TryParseJson(json, out _, out var error));

        Assert.Equal(code, error!.Code);
    }

    [Fact]
    public void Parse_NameResolution_PrefersCommonTypeThenEntityInNamespaceThenEmptyNamespaceThenBuiltin()
    {
        var schema = CedarSchema.Parse("""
            entity String;
            namespace N {
              type Long = String;
              entity E = { a: String, b: __cedar::String, c: Bool };
              action act appliesTo { principal: E, resource: E };
            }
            """.Replace("type Long = String;", "type L = String;", StringComparison.Ordinal));
        var validator = new PolicyValidator(schema);

        var ok = validator.Validate(PolicySet.Parse("""permit (principal, action, resource) when { principal.a == String::"x" && principal.b like "x*" && principal.c };"""));

        Assert.True(ok.IsValid, string.Join("\n", ok.Errors));
    }
}
