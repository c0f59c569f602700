namespace GrantSilo.Cedar.Tests;

/// <summary>The usage example from src/GrantSilo.Cedar/README.md, kept compiling and correct.</summary>
public sealed class ApiUsageTests
{
    private const string Policies = """
        @id("read-own")
        permit (principal is Agent, action == Action::"read", resource)
        when { resource.owner == principal.owner && context.depth <= 3 };

        @id("delete-needs-approval") @obligation("approval")
        permit (principal in Group::"planners", action == Action::"delete", resource is Doc);

        forbid (principal, action, resource) when { resource.classification > 3 };
        """;

    private static readonly EntityUid Agent = new("Agent", "spiffe://acme.dev/agent/planner");
    private static readonly EntityUid Alice = new("Person", "alice");
    private static readonly EntityUid Report = new("Doc", "reports/q3");
    private static readonly EntityUid Secret = new("Doc", "secret");

    private static readonly EntityStore Entities = new([
        new Entity(Agent, attributes: [new("owner", Alice)], parents: [new EntityUid("Group", "planners")]),
        new Entity(Report, attributes: [
            new("owner", Alice),
            new("classification", CedarValue.FromLong(2)),
            new("network", CedarValue.Ip("10.1.0.0/16")),
        ]),
        new Entity(Secret, attributes: [new("owner", Alice), new("classification", CedarValue.FromLong(5))]),
    ]);

    private static AuthorizationResponse Decide(string action, EntityUid resource, long depth = 1) =>
        new Authorizer(PolicySet.Parse(Policies)).IsAuthorized(
            new AuthorizationRequest(Agent, new EntityUid("Action", action), resource, CedarValue.Record([
                new("depth", CedarValue.FromLong(depth)),
                new("taskId", CedarValue.FromString("t-42")),
                new("now", CedarValue.Datetime(DateTimeOffset.UtcNow)),
            ])),
            Entities);

    [Fact]
    public void Delete_IsAllowedWithApprovalObligationFromDeterminingPolicy()
    {
        var response = Decide("delete", Report);

        Assert.Equal(Decision.Allow, response.Decision);
        var policy = Assert.Single(response.DeterminingPolicies);
        Assert.Equal("policy1", policy.Id);
        Assert.Equal("delete-needs-approval", policy.IdAnnotation);
        Assert.True(policy.Annotations.TryGetValue("obligation", out var o) && o == "approval");
    }

    [Fact]
    public void Read_IsAllowedWithoutObligation()
    {
        var response = Decide("read", Report);

        Assert.True(response.IsAllowed);
        Assert.Equal(["policy0"], response.DeterminingPolicyIds);
        Assert.DoesNotContain(response.DeterminingPolicies, p => p.Annotations.ContainsKey("obligation"));
    }

    [Fact]
    public void Read_IsDeniedWhenDelegationTooDeep() => Assert.Equal(Decision.Deny, Decide("read", Report, depth: 4).Decision);

    [Fact]
    public void Read_IsForbiddenForHighClassification()
    {
        var response = Decide("read", Secret);

        Assert.Equal(Decision.Deny, response.Decision);
        Assert.Equal(["policy2"], response.DeterminingPolicyIds);
    }

    [Fact]
    public void Request_RejectsNonRecordContext() =>
        Assert.Throws<ArgumentException>(() => new AuthorizationRequest(Agent, Agent, Agent, CedarValue.FromLong(1)));

    [Fact]
    public void ExtensionFactories_RejectInvalidText() => Assert.Throws<FormatException>(() => CedarValue.Ip("300.0.0.1"));
}
