namespace GrantSilo.Grains.Tests;

/// <summary>
/// Per-person rules are template-linked policies, not copied text: the shipped
/// <c>person-requires-approval</c> template, linked for one person, puts every action of the agents working
/// on that person's tasks behind that person's approval, and nobody else's.
/// </summary>
[Collection(ClusterCollection.Name)]
public class PolicyTemplateTests(ClusterFixture fixture)
{
    private const string Author = "person:security@test.dev";
    private readonly Scenario _s = new(fixture);

    private async Task<IssuedCredential> CredentialForAsync(string person)
    {
        var scope = Scenario.Scope(0, "doc:read:*");
        var agent = await _s.AgentAsync("worker", scope);
        var task = (await _s.Client.CreateTaskAsync(new CreateTaskRequest { Person = person, Orchestrator = "orchestrator:test", Agent = agent, Scope = scope, Lifetime = TimeSpan.FromHours(1) })).Value;
        return (await _s.CredentialAsync(agent, task.TaskId)).Credential;
    }

    [Fact]
    public async Task APersonLink_PutsThatPersonsAgentsBehindApproval_AndUnlinkingLiftsIt()
    {
        var carol = await CredentialForAsync("person:carol@test.dev");
        var dave = await CredentialForAsync("person:dave@test.dev");
        Assert.True((await _s.AuthorizeAsync(carol, "read", "doc", "a")).IsAllowed);

        var linked = await fixture.Client.LinkPolicyTemplateAsync(new PolicyLink
        {
            LinkId = "carol-requires-approval",
            TemplateId = "person-requires-approval",
            PrincipalType = "Person",
            PrincipalId = "person:carol@test.dev",
        }, Author);
        Assert.True(linked.IsSuccess, linked.Error?.ToString());
        try
        {
            Assert.Contains(linked.Value.Links, l => l.LinkId == "carol-requires-approval");
            Assert.Contains("carol-requires-approval", linked.Value.PolicyIds);
            var stepUp = await _s.AuthorizeAsync(carol, "read", "doc", "a");
            Assert.Equal(DecisionKind.StepUpRequired, stepUp.Kind);
            Assert.Contains("carol-requires-approval", stepUp.DeterminingPolicies);
            Assert.True((await _s.AuthorizeAsync(dave, "read", "doc", "a")).IsAllowed);

            // The link travels with the version: publishing new text keeps it (the template is still there).
            var republished = await fixture.Client.PublishPolicyAsync(Policies.DefaultPolicySet.Text, Author);
            Assert.Contains(republished.Value.Links, l => l.LinkId == "carol-requires-approval");
            Assert.Equal(DecisionKind.StepUpRequired, (await _s.AuthorizeAsync(carol, "read", "doc", "a")).Kind);

            // A text without the template is refused while the link needs it.
            var withoutTemplate = await fixture.Client.PublishPolicyAsync("@id(\"all\") permit (principal, action, resource);", Author);
            Assert.Equal(GrantErrorCode.PolicyInvalid, withoutTemplate.Error?.Code);
            Assert.Contains("carol-requires-approval", withoutTemplate.Error!.Message, StringComparison.Ordinal);
        }
        finally
        {
            Assert.True((await fixture.Client.UnlinkPolicyTemplateAsync("carol-requires-approval", Author)).IsSuccess);
        }
        Assert.True((await _s.AuthorizeAsync(carol, "read", "doc", "a")).IsAllowed);
    }

    [Fact]
    public async Task ALinkThatDoesNotFit_IsRefused_AndNothingChanges()
    {
        var before = (await fixture.Client.GetActivePolicyAsync()).Value.Info.Version;
        var unknown = await fixture.Client.LinkPolicyTemplateAsync(new PolicyLink { LinkId = "x", TemplateId = "no-such-template", PrincipalType = "Person", PrincipalId = "p" }, Author);
        Assert.Equal(GrantErrorCode.PolicyInvalid, unknown.Error?.Code);
        Assert.Equal("UnknownTemplate", unknown.Error!.DetailCode);

        var missingSlot = await fixture.Client.LinkPolicyTemplateAsync(new PolicyLink { LinkId = "y", TemplateId = "person-requires-approval" }, Author);
        Assert.Equal(GrantErrorCode.PolicyInvalid, missingSlot.Error?.Code);

        var wrongType = await fixture.Client.LinkPolicyTemplateAsync(new PolicyLink { LinkId = "z", TemplateId = "person-requires-approval", PrincipalType = "Resource", PrincipalId = "doc:a" }, Author);
        Assert.Equal(GrantErrorCode.InvalidArgument, wrongType.Error?.Code);

        var takenId = await fixture.Client.LinkPolicyTemplateAsync(new PolicyLink { LinkId = "baseline-within-scope", TemplateId = "person-requires-approval", PrincipalType = "Person", PrincipalId = "p" }, Author);
        Assert.Equal(GrantErrorCode.PolicyInvalid, takenId.Error?.Code);

        Assert.Equal(GrantErrorCode.InvalidArgument, (await fixture.Client.UnlinkPolicyTemplateAsync("never-linked", Author)).Error?.Code);
        Assert.Equal(before, (await fixture.Client.GetActivePolicyAsync()).Value.Info.Version);
    }
}
