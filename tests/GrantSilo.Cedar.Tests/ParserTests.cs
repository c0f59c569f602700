using GrantSilo.Cedar.Parsing;

namespace GrantSilo.Cedar.Tests;

public sealed class ParserTests
{
    private static CedarParseException ParseError(string text) => Assert.Throws<CedarParseException>(() => PolicySet.Parse(text));

    [Fact]
    public void Tokenizer_ProducesPositionedTokensEndingWithEof()
    {
        var tokens = Tokenizer.Tokenize("permit ( // c\n principal == \"a\\\"\" );");

        Assert.Equal(
            [TokenKind.Ident, TokenKind.LParen, TokenKind.Ident, TokenKind.EqEq, TokenKind.String, TokenKind.RParen, TokenKind.Semicolon, TokenKind.Eof],
            tokens.Select(t => t.Kind));
        Assert.Equal([0, 7, 15, 25, 28, 34, 35, 36], tokens.Select(t => t.Start));
        Assert.Equal(5, tokens[4].Length);
    }

    [Fact]
    public void Parse_AssignsPositionalIdsAndKeepsAnnotations()
    {
        var set = PolicySet.Parse("""
            // leading comment
            @id("first") @obligation("approval") @flag
            permit (principal, action, resource);
            forbid (principal, action, resource) when { false }; // trailing comment
            """);

        Assert.Equal(["policy0", "policy1"], set.Policies.Select(p => p.Id));
        var first = set.Policies[0];
        Assert.Equal(PolicyEffect.Permit, first.Effect);
        Assert.Equal("first", first.IdAnnotation);
        Assert.Equal("approval", first.Annotations["obligation"]);
        Assert.Equal(string.Empty, first.Annotations["flag"]);
        Assert.Equal(["id", "obligation", "flag"], first.Annotations.Keys);
        Assert.Equal(PolicyEffect.Forbid, set.Policies[1].Effect);
        Assert.Equal(new SourcePosition(19, 2, 1), first.Position);
    }

    [Fact]
    public void Parse_WithIdAnnotationSource_UsesIdAnnotationsAndPositionalFallback()
    {
        var set = PolicySet.Parse("""@id("a") permit(principal, action, resource); permit(principal, action, resource);""", PolicyIdSource.IdAnnotation);

        Assert.Equal(["a", "policy1"], set.Policies.Select(p => p.Id));
        Assert.True(set.TryGetPolicy("a", out var a) && a.IdAnnotation == "a");
    }

    [Fact]
    public void Parse_WithIdAnnotationSource_RejectsDuplicateIds()
    {
        var e = Assert.Throws<CedarParseException>(() => PolicySet.Parse(
            """@id("a") permit(principal, action, resource); @id("a") permit(principal, action, resource);""", PolicyIdSource.IdAnnotation));
        Assert.Equal(CedarParseErrorCode.DuplicatePolicyId, e.Code);
    }

    [Fact]
    public void Parse_AcceptsAllScopeForms()
    {
        var set = PolicySet.Parse("""
            permit (principal == A::B::"x", action == Action::"a", resource in Folder::"f");
            permit (principal is User, action in [Action::"a", NS::Action::"b"], resource is Doc in Folder::"f");
            permit (principal in Group::"g", action in Action::"all", resource,);
            """);
        Assert.Equal(3, set.Policies.Count);
    }

    [Theory]
    [InlineData("permit(principal, action, resource) when { 1 + };", CedarParseErrorCode.UnexpectedToken, 1, 48)]
    [InlineData("permit(principal, action, resource)", CedarParseErrorCode.UnexpectedEndOfInput, 1, 36)]
    [InlineData("allow(principal, action, resource);", CedarParseErrorCode.InvalidEffect, 1, 1)]
    [InlineData("permit(principal, action, resource) when { \"abc };", CedarParseErrorCode.UnterminatedString, 1, 44)]
    [InlineData("permit(principal, action, resource) when { \"\\q\" };", CedarParseErrorCode.InvalidEscape, 1, 45)]
    [InlineData("permit(principal, action, resource) when { 9223372036854775808 };", CedarParseErrorCode.IntegerOutOfRange, 1, 44)]
    [InlineData("permit(principal, action, resource) when { -9223372036854775809 };", CedarParseErrorCode.IntegerOutOfRange, 1, 45)]
    [InlineData("permit(principal, action, resource)\n  when { 1 < 2 < 3 };", CedarParseErrorCode.ChainedRelation, 2, 16)]
    [InlineData("permit(principal, action, resource) when { 4 / 2 };", CedarParseErrorCode.UnsupportedOperator, 1, 46)]
    [InlineData("permit(principal, action, resource) when { 1 = 1 };", CedarParseErrorCode.UnsupportedOperator, 1, 46)]
    [InlineData("permit(principal, action, resource) when { !!!!!true };", CedarParseErrorCode.TooManyUnaryOperators, 1, 44)]
    [InlineData("permit(principal, action, resource) when { {a: 1, a: 2} };", CedarParseErrorCode.DuplicateRecordKey, 1, 51)]
    [InlineData("permit(principal, action, resource) when { foo };", CedarParseErrorCode.InvalidIdentifier, 1, 44)]
    [InlineData("permit(principal, action, resource) when { foo(1) };", CedarParseErrorCode.UnknownFunction, 1, 44)]
    [InlineData("permit(principal, action, resource) when { [].frobnicate() };", CedarParseErrorCode.UnknownMethod, 1, 47)]
    [InlineData("permit(principal, action, resource) when { [].contains(1, 2) };", CedarParseErrorCode.WrongArgumentCount, 1, 47)]
    [InlineData("permit(principal, action, resource) when { };", CedarParseErrorCode.InvalidCondition, 1, 44)]
    [InlineData("permit(principal, action, resource) if { true };", CedarParseErrorCode.InvalidCondition, 1, 37)]
    [InlineData("@a(\"1\") @a(\"2\") permit(principal, action, resource);", CedarParseErrorCode.DuplicateAnnotation, 1, 10)]
    [InlineData("permit(action, principal, resource);", CedarParseErrorCode.InvalidScope, 1, 8)]
    [InlineData("permit(principal in [User::\"a\"], action, resource);", CedarParseErrorCode.InvalidScope, 1, 21)]
    [InlineData("permit(principal, action == User::\"a\", resource);", CedarParseErrorCode.InvalidScope, 1, 29)]
    [InlineData("permit(principal == ?principal, action, resource);", CedarParseErrorCode.SlotNotAllowed, 1, 21)]
    [InlineData("permit(principal, action, resource) when { like::\"x\" };", CedarParseErrorCode.InvalidIdentifier, 1, 44)]
    [InlineData("permit(principal, action, resource) when { 1 # 2 };", CedarParseErrorCode.UnexpectedCharacter, 1, 46)]
    [InlineData("permit(principal, action, resource) when { principal has 1 };", CedarParseErrorCode.InvalidOperand, 1, 58)]
    public void Parse_ReportsErrorCodeAndPosition(string text, CedarParseErrorCode code, int line, int column)
    {
        var e = ParseError(text);

        Assert.Equal(code, e.Code);
        Assert.Equal(line, e.Position.Line);
        Assert.Equal(column, e.Position.Column);
        Assert.Contains($"line {line}, column {column}", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_CommentOnlyText_GivesEmptySetThatDenies()
    {
        var set = PolicySet.Parse("// nothing here\n");

        Assert.Empty(set.Policies);
        Assert.Equal(Decision.Deny, Support.Expressions.Authorize("// nothing here\n").Decision);
    }

    [Fact]
    public void TryParse_ReturnsTypedErrorInsteadOfThrowing()
    {
        Assert.False(PolicySet.TryParse("permit(", out var set, out var error));
        Assert.Null(set);
        Assert.Equal(CedarParseErrorCode.UnexpectedEndOfInput, error!.Code);
        Assert.Equal(7, error.Position.Offset);
    }

    [Fact]
    public void Parse_DeeplyNestedParentheses_FailsWithNestingTooDeep()
    {
        var text = "permit(principal, action, resource) when { " + new string('(', 100_000) + "true" + new string(')', 100_000) + " };";

        Assert.Equal(CedarParseErrorCode.NestingTooDeep, ParseError(text).Code);
    }

    [Fact]
    public void Parse_VeryLongOperatorChain_FailsWithNestingTooDeepInsteadOfOverflowingLater()
    {
        var text = "permit(principal, action, resource) when { 1" + string.Concat(Enumerable.Repeat(" + 1", 50_000)) + " == 1 };";

        Assert.Equal(CedarParseErrorCode.NestingTooDeep, ParseError(text).Code);
    }

    [Fact]
    public void Parse_LongConjunction_IsAcceptedBecauseAndIsFlat()
    {
        var text = "permit(principal, action, resource) when { true" + string.Concat(Enumerable.Repeat(" && true", 20_000)) + " };";

        Assert.Single(PolicySet.Parse(text).Policies);
    }

    [Fact]
    public void Parse_DeepSetNesting_FailsWithNestingTooDeep()
    {
        var text = "permit(principal, action, resource) when { " + new string('[', 5000) + new string(']', 5000) + ".isEmpty() };";

        Assert.Equal(CedarParseErrorCode.NestingTooDeep, ParseError(text).Code);
    }

    [Fact]
    public void Parse_StringEscapes_AreDecoded()
    {
        var r = Support.Expressions.Authorize("""permit(principal, action, resource) when { "a\n\t\"\\\u{1F600}\x41\0" == context.s };""",
            context: CedarValue.Record([new("s", CedarValue.FromString("a\n\t\"\\\U0001F600A\0"))]));

        Assert.Equal(Decision.Allow, r.Decision);
    }
}
