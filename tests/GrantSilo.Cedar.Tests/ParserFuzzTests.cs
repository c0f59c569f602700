using CsCheck;

namespace GrantSilo.Cedar.Tests;

/// <summary>The parser never crashes, hangs or throws anything but <see cref="CedarParseException"/>.</summary>
public sealed class ParserFuzzTests
{
    private static readonly string[] Seeds =
    [
        """permit (principal == User::"a", action in [Action::"r", Action::"w"], resource is Doc in Folder::"f") when { resource.owner == principal && context.n + 1 > 2 } unless { principal has x.y };""",
        """@id("p") forbid (principal is User, action, resource) when { if context.a then [1, {a: "x*"}].contains(1) else ip("10.0.0.1").isInRange(ip("10.0.0.0/8")) };""",
        """permit (principal, action, resource) when { !!(-(-1) * 2 - 3 != 4) || "ab" like "a*\*" && decimal("1.5").lessThan(decimal("2.0")) && datetime("2024-01-01").offset(duration("1h")) > datetime("2024-01-01") };""",
        """permit (principal in Group::"g", action == Action::"x", resource) when { principal.tags.containsAny(["a"]) && principal.getTag("k") == "v" && ["a"].isEmpty() == false && context["k"] is A::B in A::B::"c" };""",
    ];

    internal static readonly Gen<string> Garbage =
        Gen.Char["permitforbidwhenunlessprincipalactionresourcecontextifthenelsehaslikeisin(){}[]<>=!&|+-*/%.,;:\"\\@?_ 0123456789\n\t\u00e9\U0001F600*"]
            .Array[0, 300].Select(a => new string(a));

    internal static readonly Gen<string> TokenSoup =
        Gen.OneOf(
            "permit", "forbid", "(", ")", "principal", "action", "resource", "context", ",", ";", "when", "unless", "{", "}", "[", "]",
            "==", "!=", "<", "<=", "in", "is", "has", "like", "if", "then", "else", "&&", "||", "!", "-", "+", "*", ".", "::", "@id(\"x\")",
            "User", "::\"a\"", "\"s\"", "\"a\\*\"", "1", "9223372036854775808", "true", "ip", "(\"1.2.3.4\")", "contains", "getTag", "?principal")
            .Array[0, 80].Select(a => string.Join(" ", a));

    private static readonly Gen<Func<string, string>> Mutation =
        Gen.Select(Gen.Int[0, 3], Gen.Int[0, 1000], Gen.Int[0, 1000],
            Gen.OneOf("(", ")", "\"", "{", "}", "[", "]", "::", ".", ",", "-", "!", "\\", "\\*", "@", ";", " if ", " in ", " has ", " like ", " is ", " true ", "?principal", "0", "9223372036854775808", "//", "\n", " ", "\t// c\n", "-1", "&&", "||", "==", string.Empty),
            (kind, a, b, insert) => (Func<string, string>)(text =>
            {
                var i = a % (text.Length + 1);
                var j = Math.Min(text.Length, i + (b % 12));
                return kind switch
                {
                    0 => text.Remove(i, j - i),
                    1 => text.Insert(i, insert),
                    2 => text[..i] + text[i..j] + text[i..],
                    _ => text[..i] + insert + text[j..],
                };
            }));

    internal static readonly Gen<string> Mutated =
        Gen.Select(Gen.OneOf(Seeds), Gen.Frequency((3, Mutation.Array[1]), (1, Mutation.Array[2, 3])), (seed, mutations) => mutations.Aggregate(seed, (text, m) => m(text)));

    private static void ParsesOrFailsWithTypedError(string text)
    {
        try
        {
            var set = PolicySet.Parse(text);

            // Whatever parses must also evaluate without throwing: errors are reported per policy.
            var response = new Authorizer(set).IsAuthorized(
                new AuthorizationRequest(new EntityUid("User", "a"), new EntityUid("Action", "r"), new EntityUid("Doc", "d")),
                EntityStore.Empty);
            Assert.True(response.Decision is Decision.Allow or Decision.Deny);
        }
        catch (CedarParseException e)
        {
            Assert.InRange(e.Position.Offset, 0, text.Length);
            Assert.True(Enum.IsDefined(e.Code));
        }
    }

    [Fact]
    public void Seeds_AreValidPolicies()
    {
        foreach (var seed in Seeds)
        {
            Assert.Single(PolicySet.Parse(seed).Policies);
        }
    }

    [Fact]
    public void RandomCharacters_OnlyEverProduceTypedParseErrors() => Garbage.Sample(ParsesOrFailsWithTypedError, iter: 20_000);

    [Fact]
    public void RandomTokenSequences_OnlyEverProduceTypedParseErrors() => TokenSoup.Sample(ParsesOrFailsWithTypedError, iter: 20_000);

    [Fact]
    public void MutatedValidPolicies_OnlyEverProduceTypedParseErrors() => Mutated.Sample(ParsesOrFailsWithTypedError, iter: 20_000);

    [Theory]
    [InlineData("(", ")")]
    [InlineData("[", "]")]
    [InlineData("{a: ", "}")]
    [InlineData("if true then ", " else 1")]
    [InlineData("!", "")]
    [InlineData("-", "")]
    public void DeepNesting_GivesTypedErrorNotStackOverflow(string open, string close)
    {
        var depth = 100_000;
        var text = "permit(principal, action, resource) when { " + string.Concat(Enumerable.Repeat(open, depth)) + "true" + string.Concat(Enumerable.Repeat(close, depth)) + " };";

        var e = Assert.Throws<CedarParseException>(() => PolicySet.Parse(text));
        Assert.True(e.Code is CedarParseErrorCode.NestingTooDeep or CedarParseErrorCode.TooManyUnaryOperators, e.Message);
    }

    [Fact]
    public void LongAttributeChain_GivesTypedErrorNotStackOverflowAtEvaluation()
    {
        var text = "permit(principal, action, resource) when { context" + string.Concat(Enumerable.Repeat(".a", 100_000)) + " };";

        Assert.Equal(CedarParseErrorCode.NestingTooDeep, Assert.Throws<CedarParseException>(() => PolicySet.Parse(text)).Code);
    }
}
