using System.Reflection;
using GrantSilo.GrainInterfaces;
using GrantSilo.Grains.Access;
using GrantSilo.Identity;

namespace GrantSilo.Grains.Tests;

/// <summary>The shipped access rules, evaluated directly: what each kind of caller may do, and nothing more.</summary>
public class AccessRulesTests
{
    private static readonly AccessRules Rules = new(AccessRules.Text);

    private static Caller Caller(CallerKind kind, string name, params string[] roles) => TestCallers.Of(kind, name, roles);

    private static TargetFacts Task(string agent = "spiffe://t/worker", params string[] chain) => new()
    {
        Kind = "task", Id = "t-1", Exists = true, Person = "person:alice", Orchestrator = "service:bot", Agent = agent, Chain = chain,
    };

    private static bool Allows(Caller caller, string operation, TargetFacts? target = null) =>
        Rules.Decide(caller, operation, () => target ?? new TargetFacts { Kind = "", Id = "" }).Allowed;

    [Fact]
    public void EveryOperationAGrainInterfaceOpens_IsDeclaredInTheAccessSchema_AndNamedInRefusals()
    {
        var operations = typeof(IAgentGrain).Assembly.GetTypes()
            .Where(t => t.IsInterface)
            .SelectMany(t => t.GetMethods())
            .Select(m => m.GetCustomAttribute<CallerOperationAttribute>()?.Operation)
            .OfType<string>()
            .Distinct()
            .ToList();
        Assert.NotEmpty(operations);
        foreach (var operation in operations)
        {
            Assert.Contains($"\"{operation}\"", AccessRules.SchemaText);
            Assert.StartsWith(operation + " needs ", OperationNeeds.Describe(operation));
        }
    }

    [Fact]
    public void TheShippedRules_ValidateAgainstTheAccessSchema_AndABrokenSetIsRefused()
    {
        Assert.Equal(64, new AccessRules(AccessRules.Text).Sha256.Length);
        var broken = Assert.Throws<InvalidOperationException>(() => new AccessRules("permit (principal is Access::Caller, action, resource) when { principal.nickname == \"x\" };"));
        Assert.Contains("access schema", broken.Message);
    }

    [Theory]
    [InlineData(CallerOperations.AgentRegister, "operator")]
    [InlineData(CallerOperations.AgentResume, "operator")]
    [InlineData(CallerOperations.TaskCreate, "orchestrator")]
    [InlineData(CallerOperations.CredentialAuthorize, "gateway")]
    [InlineData(CallerOperations.CredentialIntrospect, "gateway")]
    [InlineData(CallerOperations.PolicyPublish, "policy-author")]
    [InlineData(CallerOperations.CatalogPublish, "operator")]
    [InlineData(CallerOperations.ClusterManage, "operator")]
    public void RoleOperations_NeedTheirRole_AndNoOtherRoleGivesThem(string operation, string role)
    {
        string[] all = ["operator", "orchestrator", "auditor", "gateway", "policy-author", "approver", "approvers"];
        Assert.True(Allows(Caller(CallerKind.Service, "service:x", role), operation));
        Assert.False(Allows(Caller(CallerKind.Service, "service:x", [.. all.Where(r => r != role)]), operation));
        Assert.False(Allows(Caller(CallerKind.Agent, "spiffe://t/a"), operation));
    }

    [Fact]
    public void AnAgent_ActsForItself_AndOnItsSubtree_NeverForAnother()
    {
        var worker = Caller(CallerKind.Agent, "spiffe://t/worker");
        var planner = Caller(CallerKind.Agent, "spiffe://t/planner");
        var stranger = Caller(CallerKind.Agent, "spiffe://t/stranger");
        var task = Task("spiffe://t/worker", "spiffe://t/planner");

        Assert.True(Allows(worker, CallerOperations.TaskDelegate, task));
        Assert.True(Allows(worker, CallerOperations.TaskComplete, task));
        Assert.False(Allows(worker, CallerOperations.TaskRevoke, task));
        Assert.False(Allows(worker, CallerOperations.TaskReauthorize, task));
        Assert.True(Allows(planner, CallerOperations.TaskRevoke, task));
        Assert.True(Allows(planner, CallerOperations.TaskRead, task));
        Assert.False(Allows(planner, CallerOperations.TaskDelegate, task));
        foreach (var operation in new[] { CallerOperations.TaskRead, CallerOperations.TaskRevoke, CallerOperations.TaskDelegate, CallerOperations.TaskComplete })
        {
            Assert.False(Allows(stranger, operation, task));
        }
        Assert.True(Allows(worker, CallerOperations.SessionOpen, new TargetFacts { Kind = "agent", Id = worker.Name, Agent = worker.Name }));
        Assert.False(Allows(worker, CallerOperations.SessionOpen, new TargetFacts { Kind = "agent", Id = planner.Name, Agent = planner.Name }));
        // A person or service with the agent's name is not the agent.
        Assert.False(Allows(Caller(CallerKind.Service, worker.Name, "orchestrator"), CallerOperations.SessionOpen, new TargetFacts { Kind = "agent", Id = worker.Name, Agent = worker.Name }));
    }

    [Fact]
    public void ATasksPersonAndOrchestrator_ReadReauthorizeAndRevokeIt_OthersDoNot()
    {
        var task = Task();
        foreach (var operation in new[] { CallerOperations.TaskRead, CallerOperations.TaskReauthorize, CallerOperations.TaskRevoke })
        {
            Assert.True(Allows(Caller(CallerKind.Person, "person:alice"), operation, task));
            Assert.True(Allows(Caller(CallerKind.Service, "service:bot", "orchestrator"), operation, task));
            Assert.False(Allows(Caller(CallerKind.Person, "person:bob", "approver", "approvers"), operation, task));
            Assert.False(Allows(Caller(CallerKind.Service, "service:other", "orchestrator"), operation, task));
        }
        Assert.False(Allows(Caller(CallerKind.Person, "person:alice"), CallerOperations.TaskRead, task with { Exists = false }));
    }

    [Fact]
    public void AStepUp_IsDecidedOnlyByAPersonWithTheApproverRole_TheTasksOrTheGroups()
    {
        var approval = new TargetFacts { Kind = "approval", Id = "ap-1", Exists = true, Person = "person:alice", Agent = "spiffe://t/worker" };
        Assert.True(Allows(Caller(CallerKind.Person, "person:alice", "approver"), CallerOperations.ApprovalDecide, approval));
        Assert.True(Allows(Caller(CallerKind.Person, "person:bob", "approver", "approvers"), CallerOperations.ApprovalDecide, approval));
        Assert.False(Allows(Caller(CallerKind.Person, "person:alice"), CallerOperations.ApprovalDecide, approval));
        Assert.False(Allows(Caller(CallerKind.Person, "person:bob", "approver"), CallerOperations.ApprovalDecide, approval));
        Assert.False(Allows(Caller(CallerKind.Agent, "spiffe://t/worker", "approver", "approvers"), CallerOperations.ApprovalDecide, approval));
        Assert.False(Allows(Caller(CallerKind.Service, "service:bot", "approver", "approvers", "operator"), CallerOperations.ApprovalDecide, approval));
    }

    [Fact]
    public void TargetIndependentAnswers_AreCachedPerCaller_AndNeverAskTheTarget()
    {
        var gateway = Caller(CallerKind.Service, "service:gw", "gateway");
        var asked = 0;
        for (var i = 0; i < 3; i++)
        {
            Assert.True(Rules.Decide(gateway, CallerOperations.CredentialAuthorize, () => { asked++; return Task(); }).Allowed);
        }
        Assert.Equal(0, asked);
        // Another rule set does not reuse this one's answers.
        var none = new AccessRules("forbid (principal, action, resource);");
        Assert.False(none.Decide(gateway, CallerOperations.CredentialAuthorize, () => Task()).Allowed);
    }
}
