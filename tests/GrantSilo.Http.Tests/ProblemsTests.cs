using GrantSilo.Http;

namespace GrantSilo.Http.Tests;

public sealed class ProblemsTests
{
    [Fact]
    public void EveryErrorCode_HasItsOwnStableType_AndAnErrorStatus()
    {
        var codes = Enum.GetValues<GrantErrorCode>();
        var types = codes.Select(Problems.TypeOf).ToList();
        Assert.Equal(codes.Length, types.Distinct(StringComparer.Ordinal).Count());
        Assert.All(types, type => Assert.Matches("^urn:grantsilo:problem:[a-z]+(-[a-z]+)*$", type));
        Assert.All(codes, code => Assert.InRange(Problems.StatusOf(code), 400, 599));
        // Types are part of the API: these never change.
        Assert.Equal("urn:grantsilo:problem:scope-exceeds-parent", Problems.TypeOf(GrantErrorCode.ScopeExceedsParent));
        Assert.Equal("urn:grantsilo:problem:unauthenticated", Problems.TypeOf(GrantErrorCode.Unauthenticated));
        Assert.Equal("urn:grantsilo:problem:fan-out-limit-exceeded", Problems.TypeOf(GrantErrorCode.FanOutLimitExceeded));
    }

    [Theory]
    [InlineData(GrantErrorCode.Unauthenticated, 401)]
    [InlineData(GrantErrorCode.Forbidden, 403)]
    [InlineData(GrantErrorCode.TaskNotFound, 404)]
    [InlineData(GrantErrorCode.AgentAlreadyExists, 409)]
    [InlineData(GrantErrorCode.ScopeExceedsCeiling, 422)]
    [InlineData(GrantErrorCode.QuotaExceeded, 429)]
    [InlineData(GrantErrorCode.Unavailable, 503)]
    [InlineData(GrantErrorCode.InvalidScope, 400)]
    public void Status_SaysWhoMustAct(GrantErrorCode code, int status) => Assert.Equal(status, Problems.StatusOf(code));

    [Fact]
    public void Safe_WithholdsTokens_AndShortensLongText()
    {
        var credential = "gs1." + CredentialToken.NewCredentialId() + ".c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3JldC1zZWM";
        Assert.DoesNotContain(credential, Problems.Safe($"unknown member {credential}"), StringComparison.Ordinal);
        const string jwt = "eyJhbGciOiJFUzI1NiIsImtpZCI6ImsxIn0.eyJzdWIiOiJ4In0.c2lnbmF0dXJl";
        Assert.DoesNotContain(jwt, Problems.Safe($"$.{jwt}"), StringComparison.Ordinal);
        Assert.Equal("$.ceiling.delegationDepth", Problems.Safe("$.ceiling.delegationDepth"));
        Assert.Equal(300, Problems.Safe(new string('x', 1000)).Length);
    }
}
