// What each grain tells the access rules about itself (TargetFacts), in one place. The facts are read by
// CallerGate on the grain's own turn, before the method runs; a grain that does not exist yet has no
// relations, so relation rules cannot match it.
using GrantSilo.Grains.Access;

namespace GrantSilo.Grains.Agents
{
    internal sealed partial class AgentGrain : IAccessTarget
    {
        public bool TargetExists => Exists;

        public TargetFacts AccessFacts => new() { Kind = "agent", Id = Key, Exists = Exists, Agent = Key };
    }
}

namespace GrantSilo.Grains.Tasks
{
    internal sealed partial class TaskGrain : IAccessTarget
    {
        public bool TargetExists => Exists;

        public TargetFacts AccessFacts => Exists
            ? TargetFacts.Task(Key, State.RootPerson, State.Orchestrator, State.Agent, State.AncestorAgents)
            : new() { Kind = "task", Id = Key };
    }
}

namespace GrantSilo.Grains.Sessions
{
    internal sealed partial class SessionGrain : IAccessTarget
    {
        public bool TargetExists => Exists;

        public TargetFacts AccessFacts => Exists
            ? TargetFacts.Session(Key, State.Agent)
            : new() { Kind = "session", Id = Key };
    }
}

namespace GrantSilo.Grains.Credentials
{
    internal sealed partial class CredentialGrain : IAccessTarget
    {
        public bool TargetExists => Exists;

        public TargetFacts AccessFacts => Exists
            ? TargetFacts.Credential(Key, State.Agent)
            : new() { Kind = "credential", Id = Key };
    }
}

namespace GrantSilo.Grains.Approvals
{
    internal sealed partial class ApprovalGrain : IAccessTarget
    {
        public bool TargetExists => Exists;

        public TargetFacts AccessFacts => Exists
            ? new() { Kind = "approval", Id = Key, Exists = true, Agent = State.Agent, Person = State.RootPerson }
            : new() { Kind = "approval", Id = Key };
    }
}
