using GrantSilo.Grains.Hosting;
using GrantSilo.Grains.Indexes;

namespace GrantSilo.Grains.Tasks;

// Defence in depth for a child task: its spec arrives over an internal interface, and is checked here as if
// anyone could have sent it. The parent's delegation made the same checks; these ask the parent and the child
// agent again, so a forged or buggy spec never creates a task wider, longer-lived, deeper or under another
// person than its parent allows.
internal sealed partial class TaskGrain
{
    /// <summary>
    /// The spec, checked against the parent's own facts, the child agent's ceiling and the configured limits, with
    /// the facts the chain inherits (root person, root task, orchestrator, ancestors) taken from the parent; or the
    /// refusal.
    /// </summary>
    private async Task<GrantResult<ChildTaskSpec>> VetChildSpecAsync(ChildTaskSpec? spec)
    {
        if (spec is null)
        {
            return Refused(GrantErrorCode.InvalidArgument, "A child-task spec is required.");
        }
        if (!IndexedIds.IsCompact(spec.ParentTaskId))
        {
            return Refused(GrantErrorCode.InvalidIdentifier, "The child's parent task id is not a task id.");
        }
        var agent = WorkloadId.Validate(spec.Agent);
        if (!agent.IsSuccess)
        {
            return agent.Error;
        }
        var scope = Scope.Validate(spec.Scope);
        if (!scope.IsSuccess)
        {
            return scope.Error;
        }
        var purpose = Canonical.Text(spec.Purpose, "purpose", Options.MaxPurposeLength);
        if (!purpose.IsSuccess)
        {
            return purpose.Error;
        }
        var now = Now;
        var lifetime = spec.ExpiresAt - now;
        // The parent's clock may differ a little from this silo's (GrantSiloTime.SpecClockSkew).
        if (lifetime <= TimeSpan.Zero || lifetime > Options.MaxTaskLifetime + GrantSiloTime.SpecClockSkew)
        {
            return Refused(GrantErrorCode.LifetimeInvalid, $"A task's lifetime must be positive and at most {Options.MaxTaskLifetime} ({GrantSiloOptions.SectionName}:{nameof(GrantSiloOptions.MaxTaskLifetime)}); the child's would be {lifetime}.");
        }
        // The parent capped the lifetime after checking the interval against the lifetime asked for, so an
        // interval may exceed the effective lifetime (the task then simply expires first).
        if (spec.CheckpointInterval is { } interval && (interval < Options.MinCheckpointInterval || interval > Options.MaxTaskLifetime))
        {
            return Refused(GrantErrorCode.LifetimeInvalid, $"A checkpoint interval must be between {Options.MinCheckpointInterval} and {Options.MaxTaskLifetime}; it is {interval}.");
        }

        // The parent's own facts, not the spec's: it exists, is usable, and the child lies within it.
        var parent = await GrainFactory.GetGrainByKey<ITaskLifecycleGrain>(spec.ParentTaskId).GetFactsAsync(Key);
        if (!parent.Exists)
        {
            return Refused(GrantErrorCode.TaskNotFound, $"The parent task '{Untrusted.Id(spec.ParentTaskId)}' does not exist.");
        }
        if (!parent.Self.Usable)
        {
            return Refused(GrantErrorCode.TaskNotUsable, $"{parent.Self.Explain()} Nothing can be delegated below it meanwhile.");
        }
        // What the chain inherits is the parent's, never the spec's; a spec that says otherwise was not written by it.
        if (spec.RootPerson != parent.RootPerson || spec.RootTaskId != parent.RootTaskId || spec.Orchestrator != parent.Orchestrator
            || spec.Depth != parent.Depth + 1
            || spec.Ancestors is null || !spec.Ancestors.SequenceEqual([.. parent.Ancestors, spec.ParentTaskId], StringComparer.Ordinal)
            || spec.AncestorAgents is null || !spec.AncestorAgents.SequenceEqual([.. parent.AncestorAgents, parent.Agent], StringComparer.Ordinal))
        {
            return Refused(GrantErrorCode.InvalidArgument, $"The child's root person, root task, orchestrator, depth or ancestors are not those of its parent task '{Untrusted.Id(spec.ParentTaskId)}'.");
        }
        if (parent.Depth + 1 > Options.MaxDelegationDepth)
        {
            return Refused(GrantErrorCode.DepthLimitExceeded, $"A child of task '{Untrusted.Id(spec.ParentTaskId)}' (depth {parent.Depth}) would exceed the depth limit of {Options.MaxDelegationDepth}.");
        }
        if (!parent.Scope.MayDelegate)
        {
            return Refused(GrantErrorCode.DelegationForbidden, $"The scope of task '{Untrusted.Id(spec.ParentTaskId)}' does not allow delegation.", "delegation-depth>=1");
        }
        // Every hop narrows: within the parent's scope, with one hop less of delegation depth.
        if (scope.Value.FindExcess(parent.Scope.WithDelegationDepth(parent.Scope.DelegationDepth - 1)) is { } excess)
        {
            return Refused(GrantErrorCode.ScopeExceedsParent, $"The child's scope is wider than task '{Untrusted.Id(spec.ParentTaskId)}' allows.", excess);
        }
        if (spec.ExpiresAt > parent.ExpiresAt)
        {
            return Refused(GrantErrorCode.LifetimeInvalid, $"A child task ends no later than its parent '{Untrusted.Id(spec.ParentTaskId)}' ({parent.ExpiresAt:O}); this one would end at {spec.ExpiresAt:O}.");
        }

        // The child's agent is asked, not the spec: active, and the scope within its ceiling.
        var registered = await GrainFactory.GetGrainByKey<IAgentLifecycleGrain>(agent.Value).GetActiveAsync();
        if (!registered.IsSuccess)
        {
            return registered.Error;
        }
        if (scope.Value.FindExcess(registered.Value.Ceiling) is { } overCeiling)
        {
            return Refused(GrantErrorCode.ScopeExceedsCeiling, $"The child's scope exceeds the ceiling of agent '{agent.Value}'.", overCeiling);
        }

        // Last, the parent vouches for this very child: it records a child before creating it, so a spec that
        // passed every check above but that no delegation produced is still refused.
        if (!parent.ChildListed)
        {
            return Refused(GrantErrorCode.InvalidArgument, $"The parent task '{Untrusted.Id(spec.ParentTaskId)}' did not delegate task '{ShownKey}'.");
        }

        return spec with
        {
            Agent = agent.Value,
            Scope = scope.Value,
            Purpose = purpose.Value,
            RootPerson = parent.RootPerson,
            RootTaskId = parent.RootTaskId,
            Orchestrator = parent.Orchestrator,
            Ancestors = [.. parent.Ancestors, spec.ParentTaskId],
            AncestorAgents = [.. parent.AncestorAgents, parent.Agent],
            Depth = parent.Depth + 1,
        };

        GrantResult<ChildTaskSpec> Refused(GrantErrorCode code, string message, string? permission = null) =>
            GrantResult<ChildTaskSpec>.Fail(code, message, permission, ShownKey);
    }
}
