namespace GrantSilo.Cedar.Tests.Validation;

public sealed class ValidatorTests
{
    private static readonly CedarSchema Schema = CedarSchema.Parse("""
        entity Person;
        entity Group;
        entity Agent in [Group] = { owner: Person, ceiling?: Long, labels: Set<String> };
        entity Doc = { owner: Person, classification: Long, network: ipaddr, deadline?: datetime } tags String;
        entity Folder;
        entity Level enum ["low", "high"];
        action read appliesTo { principal: [Agent], resource: [Doc], context: { depth: Long, taskId: String } };
        action delete in [read] appliesTo { principal: Agent, resource: Doc, context: { depth: Long, taskId: String } };
        action list appliesTo { principal: Agent, resource: Folder };
        """);

    private static ValidationResult Validate(string text) => new PolicyValidator(Schema).Validate(PolicySet.Parse(text));

    private static ValidationError SingleError(string text)
    {
        var result = Validate(text);
        Assert.False(result.IsValid);
        return Assert.Single(result.Errors);
    }

    [Fact]
    public void Validate_AcceptsWellTypedPolicies()
    {
        var result = Validate("""
            permit (principal is Agent in Group::"planners", action == Action::"read", resource)
            when { resource.owner == principal.owner && context.depth <= 3 && principal.labels.contains("x") }
            unless { resource.network.isLoopback() || resource.classification > 2 };
            permit (principal, action in [Action::"read"], resource) when { principal has ceiling && principal.ceiling >= resource.classification };
            forbid (principal, action, resource is Doc) when { resource has deadline && resource.deadline < datetime("2030-01-01") };
            permit (principal, action, resource is Doc) when { resource.hasTag("team") && resource.getTag("team") like "a*" };
            """);

        Assert.True(result.IsValid, string.Join("\n", result.Errors));
        Assert.Empty(result.Warnings);
    }

    [Fact]
    public void Validate_RejectsContextPurpose_NamingPolicyPositionAndAttribute()
    {
        var error = SingleError("""
            @id("p") permit (principal, action == Action::"read", resource)
            when { context.purpose == "x" };
            """);

        Assert.Equal(ValidationErrorCode.UnsafeAttributeAccess, error.Code);
        Assert.Equal("policy0", error.PolicyId);
        Assert.Equal((2, 8), (error.Position.Line, error.Position.Column));
        Assert.Contains("no attribute `purpose`", error.Message, StringComparison.Ordinal);
        Assert.Contains("`depth`, `taskId`", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_UnknownTypeInScope_PointsAtTheScope()
    {
        var principal = SingleError("""permit (principal == Robot::"r", action == Action::"read", resource);""");
        var action = SingleError("""permit (principal, action == Action::"write", resource);""");

        Assert.Equal((ValidationErrorCode.UnrecognizedEntityType, 1, 9), (principal.Code, principal.Position.Line, principal.Position.Column));
        Assert.Contains("`Robot`", principal.Message, StringComparison.Ordinal);
        Assert.Equal((ValidationErrorCode.UnrecognizedActionId, 1, 20), (action.Code, action.Position.Line, action.Position.Column));
    }

    [Fact]
    public void Validate_RejectsMisspeltAttribute()
    {
        var error = SingleError("""permit (principal, action == Action::"read", resource) when { resource.clasification > 2 };""");

        Assert.Equal(ValidationErrorCode.UnsafeAttributeAccess, error.Code);
        Assert.Contains("`clasification`", error.Message, StringComparison.Ordinal);
        Assert.Contains("`classification`", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_RejectsStringComparedWithNumber()
    {
        var lessThan = SingleError("""permit (principal, action == Action::"read", resource) when { context.taskId < 3 };""");
        var equal = SingleError("""permit (principal, action == Action::"read", resource) when { context.taskId == 3 };""");

        Assert.Equal(ValidationErrorCode.UnexpectedType, lessThan.Code);
        Assert.Equal(ValidationErrorCode.IncompatibleTypes, equal.Code);
        Assert.Contains("String and Long", equal.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_OptionalAttribute_NeedsHas()
    {
        var error = SingleError("""permit (principal, action == Action::"read", resource) when { principal.ceiling > 1 };""");
        var guarded = Validate("""permit (principal, action == Action::"read", resource) when { principal has ceiling && principal.ceiling > 1 };""");
        var guardedByIf = Validate("""permit (principal, action == Action::"read", resource) when { if principal has ceiling then principal.ceiling > 1 else false };""");
        var wrongGuard = SingleError("""permit (principal, action == Action::"read", resource) when { principal has ceiling || principal.ceiling > 1 };""");

        Assert.Equal(ValidationErrorCode.UnsafeOptionalAttributeAccess, error.Code);
        Assert.Contains("principal has ceiling", error.Message, StringComparison.Ordinal);
        Assert.True(guarded.IsValid);
        Assert.True(guardedByIf.IsValid);
        Assert.Equal(ValidationErrorCode.UnsafeOptionalAttributeAccess, wrongGuard.Code);
    }

    [Theory]
    [InlineData("""permit (principal == Robot::"r", action, resource);""", ValidationErrorCode.UnrecognizedEntityType)]
    [InlineData("""permit (principal, action == Action::"write", resource);""", ValidationErrorCode.UnrecognizedActionId)]
    [InlineData("""permit (principal, action, resource) when { Level::"medium" == Level::"low" };""", ValidationErrorCode.InvalidEnumEntity)]
    [InlineData("""permit (principal, action == Action::"read", resource) when { if context.depth > 1 then 1 else "one" };""", ValidationErrorCode.IncompatibleTypes)]
    [InlineData("""permit (principal, action == Action::"read", resource) when { context.depth };""", ValidationErrorCode.UnexpectedType)]
    [InlineData("""permit (principal, action == Action::"read", resource) when { ip("not an ip").isLoopback() };""", ValidationErrorCode.FunctionArgumentValidation)]
    [InlineData("""permit (principal, action == Action::"read", resource) when { decimal(context.taskId).lessThan(decimal("1.0")) };""", ValidationErrorCode.NonLiteralExtensionConstructor)]
    [InlineData("""permit (principal, action == Action::"read", resource) when { resource.network.isInRange(context.depth) };""", ValidationErrorCode.UnexpectedType)]
    [InlineData("""permit (principal, action == Action::"read", resource) when { ip("1.2.3.4").isInRange() };""", ValidationErrorCode.WrongNumberArguments)]
    [InlineData("""permit (principal, action == Action::"read", resource) when { principal.labels == [] };""", ValidationErrorCode.EmptySetForbidden)]
    [InlineData("""permit (principal, action == Action::"read", resource) when { resource.getTag("team") == "a" };""", ValidationErrorCode.UnsafeTagAccess)]
    [InlineData("""permit (principal, action == Action::"read", resource) when { [principal, resource].contains(principal) };""", ValidationErrorCode.IncompatibleTypes)]
    [InlineData("""permit (principal, action == Action::"read", resource) when { principal.labels == context.depth };""", ValidationErrorCode.IncompatibleTypes)]
    public void Validate_RejectsTypeErrors(string text, ValidationErrorCode code)
    {
        var result = Validate(text);

        Assert.Contains(result.Errors, e => e.Code == code);
        Assert.All(result.Errors, e => Assert.False(string.IsNullOrWhiteSpace(e.Message)));
    }

    [Fact]
    public void Validate_DisjointEntityEquality_IsFalseNotAnError()
    {
        // Cedar types `principal.owner == resource.owner.x` strictly, but an equality between different entity types is
        // simply false: the policy validates, and is impossible when nothing else can make it apply.
        var result = Validate("""permit (principal, action == Action::"read", resource) when { principal == resource };""");

        Assert.True(result.IsValid, string.Join("\n", result.Errors));
        Assert.Equal(ValidationWarningCode.ImpossiblePolicy, Assert.Single(result.Warnings).Code);
    }

    [Theory]
    [InlineData("""permit (principal, action == Action::"list", resource is Doc);""", "")]
    [InlineData("""permit (principal == Group::"g", action == Action::"read", resource);""", "`principal in` instead of `principal ==`")]
    [InlineData("""permit (principal in Folder::"f", action, resource);""", "")]
    public void Validate_ScopeThatNoActionAppliesTo_IsAWarningAsInCedar413(string text, string hint)
    {
        var result = Validate(text);

        Assert.True(result.IsValid, string.Join("\n", result.Errors));
        var warning = Assert.Single(result.Warnings, w => w.Code == ValidationWarningCode.InvalidActionApplication);
        Assert.Contains(hint, warning.Message, StringComparison.Ordinal);
        Assert.Contains(result.Warnings, w => w.Code == ValidationWarningCode.ImpossiblePolicy);
    }

    [Fact]
    public void Validate_WithInapplicableActionIsError_ReportsTheScopeAsAnError()
    {
        var validator = new PolicyValidator(Schema, new PolicyValidatorOptions { InapplicableActionIsError = true });

        var result = validator.Validate(PolicySet.Parse("""permit (principal, action == Action::"list", resource is Doc);"""));

        var error = Assert.Single(result.Errors);
        Assert.Equal(ValidationErrorCode.InvalidActionApplication, error.Code);
        Assert.DoesNotContain(result.Warnings, w => w.Code == ValidationWarningCode.InvalidActionApplication);
    }

    [Fact]
    public void Validate_InOnUnrelatableTypes_IsImpossiblePolicy()
    {
        var impossible = Validate("""permit (principal, action == Action::"read", resource) when { resource in principal };""");
        Assert.True(impossible.IsValid);
        Assert.Equal("policy0", Assert.Single(impossible.Warnings).PolicyId);
    }

    [Fact]
    public void Validate_ShortCircuitedBranchIsNotChecked()
    {
        // As in Cedar, the right side of `false && ...` can never run, so its type errors are not reported.
        var result = Validate("""permit (principal, action == Action::"read", resource) when { false && (1 + "a") };""");

        Assert.True(result.IsValid);
        Assert.Single(result.Warnings);
    }

    [Fact]
    public void Validate_ReportsEveryErroringPolicyOnce()
    {
        var result = Validate("""
            permit (principal, action, resource) when { context.purpose == "a" };
            permit (principal, action == Action::"read", resource) when { true };
            forbid (principal, action == Action::"read", resource) when { resource.nope };
            """);

        Assert.Equal(["policy0", "policy2"], result.Errors.Select(e => e.PolicyId).Distinct());
        Assert.Equal(result.Errors.Count, result.Errors.Distinct().Count());
    }
}

public sealed class ValidatorReadmeExampleTests
{
    [Fact]
    public void ReadmeExample_ReportsPurposeOptionalAndMisspeltAttributes()
    {
        var schema = CedarSchema.Parse("""
            entity Person;
            entity Group;
            entity Agent in [Group] = { owner: Person, ceiling?: Long };
            entity Doc = { owner: Person, classification: Long } tags String;
            action read, delete appliesTo { principal: Agent, resource: Doc, context: { depth: Long } };
            """);

        var result = new PolicyValidator(schema).Validate(PolicySet.Parse("""
            permit (principal, action == Action::"read", resource) when { context.purpose == "audit" };
            permit (principal, action, resource) when { principal.ceiling > resource.clasification };
            """));

        Assert.Equal(
            [
                "policy0 (line 1, column 63): context ({ depth: Long }) has no attribute `purpose` in the schema; it has `depth`",
                "policy1 (line 2, column 45): attribute `ceiling` of principal is optional; check `principal has ceiling` before reading it",
                "policy1 (line 2, column 65): resource (Doc) has no attribute `clasification` in the schema; it has `classification`, `owner`",
            ],
            result.Errors.Select(e => $"{e.PolicyId} ({e.Position}): {e.Message}"));
    }
}
