namespace GrantSilo.Cedar.Tests.Validation;

public sealed class TemplateTests
{
    private const string Text = """
        @id("static") permit (principal, action == Action::"read", resource) when { resource.public };
        @id("approver") permit (principal == ?principal, action == Action::"approve", resource in ?resource);
        @id("team") permit (principal is Agent in ?principal, action == Action::"read", resource);
        """;

    private static readonly CedarSchema Schema = CedarSchema.Parse("""
        entity Person;
        entity Team;
        entity Agent in [Team];
        entity Folder;
        entity Doc in [Folder] = { public: Bool };
        action read appliesTo { principal: [Agent, Person], resource: Doc };
        action approve appliesTo { principal: Person, resource: [Doc, Folder] };
        """);

    [Fact]
    public void ParseWithTemplates_KeepsTemplatesApartFromEvaluatedPolicies()
    {
        var set = PolicySet.ParseWithTemplates(Text, PolicyIdSource.IdAnnotation);

        Assert.Equal(["static"], set.Policies.Select(p => p.Id));
        Assert.Equal(["approver", "team"], set.Templates.Select(p => p.Id));
        Assert.All(set.Templates, t => Assert.True(t.IsTemplate));
    }

    [Fact]
    public void Parse_StillRejectsSlotsInStaticPolicies()
    {
        var e = Assert.Throws<CedarParseException>(() => PolicySet.Parse(Text));

        Assert.Equal(CedarParseErrorCode.SlotNotAllowed, e.Code);
    }

    [Theory]
    [InlineData("permit (principal == ?resource, action, resource);")]
    [InlineData("permit (principal, action, resource in ?principal);")]
    [InlineData("permit (principal, action == ?action, resource);")]
    [InlineData("permit (principal, action, resource) when { principal == ?principal };")]
    public void ParseWithTemplates_RejectsSlotsOutsideTheirScope(string text)
    {
        var e = Assert.Throws<CedarParseException>(() => PolicySet.ParseWithTemplates(text));

        Assert.True(e.Code is CedarParseErrorCode.SlotNotAllowed or CedarParseErrorCode.InvalidScope, e.Message);
    }

    [Fact]
    public void Link_MakesAPolicyThatDecidesWithTheSlotValues()
    {
        var templates = PolicySet.ParseWithTemplates(Text, PolicyIdSource.IdAnnotation);
        var alice = new EntityUid("Person", "alice");
        var folder = new EntityUid("Folder", "f");
        var doc = new EntityUid("Doc", "d");
        var entities = new EntityStore([new Entity(doc, [new("public", CedarValue.FromBool(false))], [folder])]);
        var request = new AuthorizationRequest(alice, new EntityUid("Action", "approve"), doc);

        var linked = templates.Link("approver", "alice-approves-f", principal: alice, resource: folder);
        var before = new Authorizer(templates).IsAuthorized(request, entities);
        var after = new Authorizer(linked).IsAuthorized(request, entities);

        Assert.Equal(Decision.Deny, before.Decision);
        Assert.Equal(Decision.Allow, after.Decision);
        var link = Assert.Single(after.DeterminingPolicies);
        Assert.Equal(("alice-approves-f", "approver"), (link.Id, link.TemplateId));
        Assert.Equal(alice, link.LinkedPrincipal);
        Assert.Equal(2, templates.Templates.Count + templates.Policies.Count - 1);
    }

    [Theory]
    [InlineData("nope", "x", true, true, PolicyLinkErrorCode.UnknownTemplate)]
    [InlineData("static", "x", false, false, PolicyLinkErrorCode.UnknownTemplate)]
    [InlineData("approver", "team", true, true, PolicyLinkErrorCode.DuplicateId)]
    [InlineData("approver", "x", true, false, PolicyLinkErrorCode.MissingSlotValue)]
    [InlineData("team", "x", true, true, PolicyLinkErrorCode.UnexpectedSlotValue)]
    public void Link_RejectsWrongTemplateIdOrSlotValues(string template, string linkId, bool withPrincipal, bool withResource, PolicyLinkErrorCode code)
    {
        var set = PolicySet.ParseWithTemplates(Text, PolicyIdSource.IdAnnotation);

        var e = Assert.Throws<PolicyLinkException>(() => set.Link(
            template,
            linkId,
            withPrincipal ? new EntityUid("Person", "p") : null,
            withResource ? new EntityUid("Folder", "f") : null));

        Assert.Equal(code, e.Code);
    }

    [Fact]
    public void Validate_ChecksTemplatesForEveryPossibleSlotType()
    {
        var set = PolicySet.ParseWithTemplates(Text + """
            @id("bad") permit (principal in ?principal, action == Action::"read", resource) when { principal.age > 3 };
            """, PolicyIdSource.IdAnnotation);

        var result = new PolicyValidator(Schema).Validate(set);

        // `principal in ?principal` may be an Agent or a Person: both lack `age`, and each is reported.
        Assert.Equal(2, result.Errors.Count);
        Assert.All(result.Errors, e => Assert.Equal(("bad", ValidationErrorCode.UnsafeAttributeAccess), (e.PolicyId, e.Code)));
        Assert.Contains(result.Errors, e => e.Message.Contains("(Agent)", StringComparison.Ordinal));
        Assert.Contains(result.Errors, e => e.Message.Contains("(Person)", StringComparison.Ordinal));
    }

    [Fact]
    public void Validate_ChecksLinkedSlotValuesAgainstTheSchema()
    {
        var set = PolicySet.ParseWithTemplates(Text, PolicyIdSource.IdAnnotation)
            .Link("approver", "ok", new EntityUid("Person", "p"), new EntityUid("Folder", "f"))
            .Link("approver", "unknown-type", new EntityUid("Robot", "r"), new EntityUid("Folder", "f"))
            .Link("approver", "not-applicable", new EntityUid("Agent", "a"), new EntityUid("Folder", "f"));

        var result = new PolicyValidator(Schema).Validate(set);

        Assert.Equal([("unknown-type", ValidationErrorCode.UnrecognizedEntityType)], result.Errors.Select(e => (e.PolicyId, e.Code)));
        Assert.Equal(
            ["not-applicable", "unknown-type"],
            result.Warnings.Where(w => w.Code == ValidationWarningCode.InvalidActionApplication).Select(w => w.PolicyId).Order(StringComparer.Ordinal));
    }
}
