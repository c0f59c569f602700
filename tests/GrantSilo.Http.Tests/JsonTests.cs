using System.Text.Json;
using GrantSilo.Http;

namespace GrantSilo.Http.Tests;

public sealed class JsonTests
{
    [Fact]
    public void Scope_RoundTripsInItsWireShape_Canonically()
    {
        var scope = JsonSerializer.Deserialize<Scope>("""{"permissions":["repo:read:acme/*","repo:read:acme/docs/*"],"maxClassification":"confidential","delegationDepth":2}""", HttpJson.Options)!;
        // Canonical: a permission within another is dropped, as Scope.Create does.
        Assert.Equal(["repo:read:acme/*"], scope.Permissions.Select(p => p.ToString()));
        Assert.Equal(DataClassification.Confidential, scope.MaxClassification);
        Assert.Equal("""{"permissions":["repo:read:acme/*"],"maxClassification":"confidential","delegationDepth":2}""", JsonSerializer.Serialize(scope, HttpJson.Options));
    }

    [Theory]
    [InlineData("""{"permissions":["repo:read:*"],"delegationDepth":99999999999}""", "delegationDepth")]
    [InlineData("""{"permissions":["repo:read:*"],"delegationDepth":1.5}""", "delegationDepth")]
    [InlineData("""{"permissions":["repo:read:*"],"maxClassification":3}""", "maxClassification")]
    [InlineData("""{"permissions":"repo:read:*"}""", "permissions")]
    [InlineData("""{"permissions":[],"mayDelegate":true}""", "mayDelegate")]
    public void Scope_WrongMembers_NameTheMember(string json, string member)
    {
        var refused = Assert.Throws<JsonMemberException>(() => JsonSerializer.Deserialize<Scope>(json, HttpJson.Options));
        Assert.Equal(member, refused.Member);
    }

    [Fact]
    public void Scope_InvalidPermission_IsTheTypedError()
    {
        var refused = Assert.Throws<GrantErrorJsonException>(() => JsonSerializer.Deserialize<Scope>("""{"permissions":["repo:read"]}""", HttpJson.Options));
        Assert.Equal(GrantErrorCode.InvalidScope, refused.Error.Code);
        Assert.Equal("repo:read", refused.Error.Permission);
    }

    [Theory]
    [InlineData("""{"reason":"a","extra":1}""")]
    [InlineData("""{"reason":"a","reason":"b"}""")]
    [InlineData("""{"reason":null}""")]
    [InlineData("""{}""")]
    public void Bodies_AreStrict(string json) =>
        Assert.ThrowsAny<JsonException>(() => JsonSerializer.Deserialize<ReasonBody>(json, HttpJson.Options));

    [Fact]
    public void Nesting_DeeperThanTheLimit_IsRefused()
    {
        var deep = string.Concat(Enumerable.Repeat("{\"a\":", HttpJson.MaxDepth + 1)) + "1" + new string('}', HttpJson.MaxDepth + 1);
        Assert.ThrowsAny<JsonException>(() => JsonSerializer.Deserialize<AuthZenEvaluation>($$"""{"context":{{deep}}}""", HttpJson.Options));
        var shallow = string.Concat(Enumerable.Repeat("{\"a\":", 4)) + "1" + new string('}', 4);
        Assert.NotNull(JsonSerializer.Deserialize<AuthZenEvaluation>($$"""{"context":{{shallow}}}""", HttpJson.Options)!.Context);
    }
}
