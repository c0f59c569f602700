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

    // Every code's problem type, written out: the types are part of the public API, so renaming an enum member must
    // fail here rather than silently change what clients match on. A new code needs its row.
    private static readonly Dictionary<GrantErrorCode, string> PublishedTypes = new()
    {
        [GrantErrorCode.InvalidArgument] = "urn:grantsilo:problem:invalid-argument",
        [GrantErrorCode.InvalidIdentifier] = "urn:grantsilo:problem:invalid-identifier",
        [GrantErrorCode.InvalidScope] = "urn:grantsilo:problem:invalid-scope",
        [GrantErrorCode.ScopeTooLarge] = "urn:grantsilo:problem:scope-too-large",
        [GrantErrorCode.ScopeExceedsParent] = "urn:grantsilo:problem:scope-exceeds-parent",
        [GrantErrorCode.ScopeExceedsCeiling] = "urn:grantsilo:problem:scope-exceeds-ceiling",
        [GrantErrorCode.LifetimeExceedsParent] = "urn:grantsilo:problem:lifetime-exceeds-parent",
        [GrantErrorCode.LifetimeInvalid] = "urn:grantsilo:problem:lifetime-invalid",
        [GrantErrorCode.DelegationForbidden] = "urn:grantsilo:problem:delegation-forbidden",
        [GrantErrorCode.DepthLimitExceeded] = "urn:grantsilo:problem:depth-limit-exceeded",
        [GrantErrorCode.FanOutLimitExceeded] = "urn:grantsilo:problem:fan-out-limit-exceeded",
        [GrantErrorCode.AgentNotFound] = "urn:grantsilo:problem:agent-not-found",
        [GrantErrorCode.AgentAlreadyExists] = "urn:grantsilo:problem:agent-already-exists",
        [GrantErrorCode.AgentNotActive] = "urn:grantsilo:problem:agent-not-active",
        [GrantErrorCode.TaskNotFound] = "urn:grantsilo:problem:task-not-found",
        [GrantErrorCode.TaskAlreadyExists] = "urn:grantsilo:problem:task-already-exists",
        [GrantErrorCode.TaskNotUsable] = "urn:grantsilo:problem:task-not-usable",
        [GrantErrorCode.TaskNotAssignedToAgent] = "urn:grantsilo:problem:task-not-assigned-to-agent",
        [GrantErrorCode.SessionNotFound] = "urn:grantsilo:problem:session-not-found",
        [GrantErrorCode.SessionNotActive] = "urn:grantsilo:problem:session-not-active",
        [GrantErrorCode.CredentialNotFound] = "urn:grantsilo:problem:credential-not-found",
        [GrantErrorCode.InvalidProof] = "urn:grantsilo:problem:invalid-proof",
        [GrantErrorCode.InvalidState] = "urn:grantsilo:problem:invalid-state",
        [GrantErrorCode.Unavailable] = "urn:grantsilo:problem:unavailable",
        [GrantErrorCode.PolicyInvalid] = "urn:grantsilo:problem:policy-invalid",
        [GrantErrorCode.PolicyForbidsScope] = "urn:grantsilo:problem:policy-forbids-scope",
        [GrantErrorCode.ApprovalNotFound] = "urn:grantsilo:problem:approval-not-found",
        [GrantErrorCode.ApprovalNotPending] = "urn:grantsilo:problem:approval-not-pending",
        [GrantErrorCode.ApproverNotAllowed] = "urn:grantsilo:problem:approver-not-allowed",
        [GrantErrorCode.SchemaInvalid] = "urn:grantsilo:problem:schema-invalid",
        [GrantErrorCode.PolicyTooCostly] = "urn:grantsilo:problem:policy-too-costly",
        [GrantErrorCode.QuotaExceeded] = "urn:grantsilo:problem:quota-exceeded",
        [GrantErrorCode.AlreadyEnded] = "urn:grantsilo:problem:already-ended",
        [GrantErrorCode.AuditRecordNotFound] = "urn:grantsilo:problem:audit-record-not-found",
        [GrantErrorCode.Unauthenticated] = "urn:grantsilo:problem:unauthenticated",
        [GrantErrorCode.Forbidden] = "urn:grantsilo:problem:forbidden",
        [GrantErrorCode.RateLimited] = "urn:grantsilo:problem:rate-limited",
    };

    [Fact]
    public void EveryErrorCode_KeepsItsPublishedType()
    {
        Assert.Equal(Enum.GetValues<GrantErrorCode>().Order(), PublishedTypes.Keys.Order());
        Assert.All(PublishedTypes, pair => Assert.Equal(pair.Value, Problems.TypeOf(pair.Key)));
    }

    [Theory]
    [InlineData(GrantErrorCode.Unauthenticated, 401)]
    [InlineData(GrantErrorCode.Forbidden, 403)]
    [InlineData(GrantErrorCode.TaskNotFound, 404)]
    [InlineData(GrantErrorCode.AgentAlreadyExists, 409)]
    [InlineData(GrantErrorCode.ScopeExceedsCeiling, 422)]
    [InlineData(GrantErrorCode.QuotaExceeded, 429)]
    [InlineData(GrantErrorCode.RateLimited, 429)]
    [InlineData(GrantErrorCode.Unavailable, 503)]
    [InlineData(GrantErrorCode.InvalidScope, 400)]
    public void Status_SaysWhoMustAct(GrantErrorCode code, int status) => Assert.Equal(status, Problems.StatusOf(code));

    [Theory]
    [InlineData(0.5, "1")]
    [InlineData(1.0, "1")]
    [InlineData(2.2, "3")]
    public async Task RateLimited_Is429_WithRetryAfter_InWholeSeconds(double seconds, string header)
    {
        var http = new Microsoft.AspNetCore.Http.DefaultHttpContext
        {
            RequestServices = Microsoft.Extensions.DependencyInjection.ServiceCollectionContainerBuilderExtensions.BuildServiceProvider(
                Microsoft.Extensions.DependencyInjection.LoggingServiceCollectionExtensions.AddLogging(new Microsoft.Extensions.DependencyInjection.ServiceCollection())),
        };
        http.Response.Body = new MemoryStream();
        var error = new GrantError(GrantErrorCode.RateLimited, "This caller made more calls than it may.") { RetryAfter = TimeSpan.FromSeconds(seconds) };
        await Problems.From(error).ExecuteAsync(http);
        Assert.Equal(429, http.Response.StatusCode);
        Assert.Equal(header, http.Response.Headers.RetryAfter.ToString());
    }

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
