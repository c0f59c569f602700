namespace GrantSilo.Abstractions.Tests;

public class CanonicalizationTests
{
    [Fact]
    public void Permission_NormalizesToNfc()
    {
        var composed = Permission.Parse("doc:read:caf\u00e9/menu").Value;
        var decomposed = Permission.Parse("doc:read:cafe\u0301/menu").Value;
        Assert.Equal(composed, decomposed);
        Assert.True(decomposed.Covers("doc", "read", "caf\u00e9/menu"));
    }

    [Theory]
    [InlineData("doc:read:a\u202Eb")]     // right-to-left override
    [InlineData("doc:read:a\u2066b")]     // left-to-right isolate
    [InlineData("doc:read:a\u200Bb")]     // zero-width space
    [InlineData("doc:read:a\u0000b")]     // NUL
    [InlineData("doc:read:a\nb")]         // control
    [InlineData("doc:read:a\u2028b")]     // line separator
    [InlineData("doc:read:a//b")]         // empty segment
    [InlineData("doc:read:a/../b")]       // dot segment
    [InlineData("doc:read:a/*/b")]        // wildcard not last
    [InlineData("doc:read:a*")]           // wildcard inside a segment
    [InlineData("Doc:read:a")]            // upper-case type
    [InlineData("doc:re ad:a")]           // space in action
    [InlineData("doc:read")]              // missing pattern
    [InlineData("")]
    public void Permission_RejectsForbiddenText(string text)
    {
        var result = Permission.Parse(text);
        Assert.False(result.IsSuccess);
        Assert.Contains(result.Error!.Code, new[] { GrantErrorCode.InvalidScope, GrantErrorCode.ScopeTooLarge });
    }

    [Fact]
    public void Permission_RejectsUnpairedSurrogate()
    {
        // Built in code: test-case serialization would replace the lone surrogate with U+FFFD.
        var text = "doc:read:a" + (char)0xD800 + "b";
        Assert.Equal(GrantErrorCode.InvalidScope, Permission.Parse(text).Error?.Code);
    }

    [Theory]
    [InlineData("")]
    [InlineData(" padded")]
    [InlineData("id\u202Ewith-bidi")]
    [InlineData("id\twith-tab")]
    public void Identifier_RejectsForbiddenText(string text) =>
        Assert.Equal(GrantErrorCode.InvalidIdentifier, Canonical.Identifier(text, "Id").Error?.Code);

    [Fact]
    public void Identifier_RejectsHugeInput() =>
        Assert.Equal(GrantErrorCode.InvalidIdentifier, Canonical.Identifier(new string('a', 100_000), "Id").Error?.Code);

    [Theory]
    [InlineData("spiffe://acme.dev/agent/planner", true)]
    [InlineData("spiffe://acme.dev/", false)]
    [InlineData("spiffe://ACME.dev/agent", false)]
    [InlineData("spiffe://acme.dev/agent/../root", false)]
    [InlineData("spiffe://acme.dev/agent?x=1", false)]
    [InlineData("agent-without-scheme", true)]
    public void WorkloadId_ValidatesSpiffeIds(string id, bool valid) =>
        Assert.Equal(valid, WorkloadId.Validate(id).IsSuccess);
}
