using GrantSilo.GrainInterfaces;
using GrantSilo.Grains.Access;
using GrantSilo.Identity;

namespace GrantSilo.Grains.Tests;

/// <summary>What a listing shows its caller (<see cref="CallerReads"/>): what the access rules in force let it read one by one.</summary>
public class CallerReadsTests
{
    private static readonly AccessRules Shipped = new(AccessRules.Text);

    private static readonly Scope Reader = Scope.Create(new[] { "repo:read:acme/*" }, DataClassification.Internal, 0).Value;

    private static Caller Caller(CallerKind kind, string name, params string[] roles) => TestCallers.Of(kind, name, roles);

    private static TaskInfo Task(string id, string orchestrator) => new()
    {
        TaskId = id,
        RootPerson = "person:alice",
        Orchestrator = orchestrator,
        Agent = "spiffe://t/worker",
        RootTaskId = id,
        Scope = Reader,
        Purpose = "private",
    };

    private static readonly TaskInfo[] Tasks = [Task("t-1", "service:a"), Task("t-2", "service:b"), Task("t-3", "service:a")];

    private sealed class Source(AccessRules? rules) : IAccessRulesSource
    {
        public ValueTask<InstalledAccessRules?> GetConfirmedAccessRulesAsync() =>
            ValueTask.FromResult(rules is null ? null : new InstalledAccessRules(rules.Version0(isActive: true), rules));
    }

    // As the listing's turn sees it: the caller the door verified, set for this flow only.
    private static async Task<Func<TaskInfo, bool>?> TasksShownToAsync(Caller? caller, AccessRules? rules)
    {
        CallerContext.Set(caller);
        return await CallerReads.ForCurrentCallerAsync<TaskInfo>(new Source(rules), CallerOperations.TaskRead, TargetFacts.Of);
    }

    private static string[] Shown(Func<TaskInfo, bool>? visible) => [.. Tasks.Where(visible!).Select(t => t.TaskId)];

    [Fact]
    public async Task AnOrchestrator_IsShownOnlyTheTasksItCreated()
    {
        Assert.Equal(["t-1", "t-3"], Shown(await TasksShownToAsync(Caller(CallerKind.Service, "service:a", "orchestrator"), Shipped)));
        Assert.Equal(["t-2"], Shown(await TasksShownToAsync(Caller(CallerKind.Service, "service:b", "orchestrator"), Shipped)));
        Assert.Empty(Shown(await TasksShownToAsync(Caller(CallerKind.Service, "service:c", "orchestrator"), Shipped)));
    }

    [Fact]
    public async Task OperatorsAuditorsAndTheAgentItself_AreShownEveryTask()
    {
        string[] all = ["t-1", "t-2", "t-3"];
        Assert.Equal(all, Shown(await TasksShownToAsync(Caller(CallerKind.Person, "person:ops", "operator"), Shipped)));
        Assert.Equal(all, Shown(await TasksShownToAsync(Caller(CallerKind.Person, "person:audit", "auditor"), Shipped)));
        Assert.Equal(all, Shown(await TasksShownToAsync(Caller(CallerKind.Agent, "spiffe://t/worker"), Shipped)));
    }

    [Fact]
    public async Task TheRulesInForce_DecideWhatIsShown()
    {
        // A version that lets orchestrators read every task shows them every task; one without the relation rule, none.
        var generous = new AccessRules(AccessRules.Text + "\n@id(\"orchestrators-read-every-task\")\npermit (principal is Access::Caller, action == Access::Action::\"task.read\", resource) when { principal.roles.contains(\"orchestrator\") };");
        Assert.Equal(["t-1", "t-2", "t-3"], Shown(await TasksShownToAsync(Caller(CallerKind.Service, "service:c", "orchestrator"), generous)));
        var strict = new AccessRules("@id(\"operators-only\")\npermit (principal is Access::Caller, action, resource) when { principal.roles.contains(\"operator\") };");
        Assert.Empty(Shown(await TasksShownToAsync(Caller(CallerKind.Service, "service:a", "orchestrator"), strict)));
    }

    [Fact]
    public async Task RulesThatCannotBeConfirmed_ShowNothing_AndTheListingIsRefused()
    {
        Assert.Null(await TasksShownToAsync(Caller(CallerKind.Person, "person:ops", "operator"), rules: null));
        Assert.Equal(GrantErrorCode.Unavailable, CallerReads.Unconfirmed("Listing").Code);
    }

    [Fact]
    public async Task TheClustersOwnCalls_AreShownEverything()
    {
        Assert.Equal(["t-1", "t-2", "t-3"], Shown(await TasksShownToAsync(caller: null, rules: null)));
    }

    [Fact]
    public void ATaskAsAnswered_HasTheFactsATaskGivesTheDoor()
    {
        var task = Task("t-9", "service:a") with { AncestorAgents = ["spiffe://t/planner"] };
        var facts = TargetFacts.Of(task);
        Assert.Equal(TargetFacts.Task("t-9", "person:alice", "service:a", "spiffe://t/worker", task.AncestorAgents), facts);
        Assert.Equal(TargetFacts.Session("s-1", "spiffe://t/worker"), TargetFacts.Of(new SessionInfo { SessionId = "s-1", Agent = "spiffe://t/worker" }));
    }
}
