using GrantSilo.Grains.Decisions;
using GrantSilo.Grains.Diagnostics;
using GrantSilo.Grains.Hosting;
using GrantSilo.Grains.Indexes;
using GrantSilo.Grains.Leases;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace GrantSilo.Grains.Tasks;

// The chain-lease protocol of a task: what it leases to its descendants and credentials (its own status, or
// its whole chain's), what it holds from its ancestors and their agents, and how an invalidation travels on.
internal sealed partial class TaskGrain
{
    // What this task relies on above it (every ancestor and every agent along the chain, its own
    // included), under the leases they granted; dropped when any of them says it changed.
    private HeldAnswer<Upstream>? _upstreamHeld;

    private HeldAnswer<Upstream> UpstreamHeld => _upstreamHeld ??= _held.Hold<Upstream>();

    private sealed record Upstream(ChainCheck Check, AgentInfo? Agent, DateTimeOffset UsableUntil);

    // Until when this task's own status stays usable without a state change: its expiry, or its
    // next checkpoint if that comes first.
    private DateTimeOffset SelfUsableUntil() =>
        State.CheckpointDueAt is { } due && due < State.ExpiresAt ? due : State.ExpiresAt;

    public Task<TaskLease> LeaseSelfAsync(GrainId holder)
    {
        var self = CheckSelf();
        return Task.FromResult(self.Usable
            ? new TaskLease { Check = self, UsableUntil = SelfUsableUntil(), Lease = Leases.Grant(holder, Leases.Duration) }
            : new TaskLease { Check = self });
    }

    public async Task<TaskLease> LeaseChainAsync(GrainId holder)
    {
        var self = CheckSelf();
        if (!self.Usable)
        {
            return new TaskLease { Check = self };
        }
        var upstream = await GetUpstreamAsync();
        // Read again, in the same turn as the grant: this task may have changed while its chain was asked.
        self = CheckSelf();
        if (!self.Usable || !upstream.Check.Usable)
        {
            return new TaskLease { Check = self.Usable ? Blocked(self, upstream.Check) : self };
        }
        var cap = UpstreamHeld.Remaining();
        var until = SelfUsableUntil();
        return new TaskLease
        {
            Check = self,
            Agent = upstream.Agent,
            UsableUntil = upstream.UsableUntil < until ? upstream.UsableUntil : until,
            Lease = Leases.Grant(holder, cap),
        };
    }

    public async Task InvalidateLeasesAsync()
    {
        _held.Invalidate();
        await Leases.RevokeAllAsync(GrainFactory, Logger);
    }

    /// <summary>This task's status, every ancestor's, and the status of every agent along the chain (its own included).</summary>
    private async Task<ChainCheck> CheckChainAsync()
    {
        var self = CheckSelf();
        if (!self.Usable)
        {
            return self;
        }
        var upstream = await GetUpstreamAsync();
        self = CheckSelf();
        return !self.Usable ? self : upstream.Check.Usable ? self : Blocked(self, upstream.Check);
    }

    private static ChainCheck Blocked(ChainCheck self, ChainCheck upstream) =>
        upstream with { RootPerson = self.RootPerson, RootTaskId = self.RootTaskId, Depth = self.Depth, Agent = self.Agent, Ancestors = self.Ancestors, Orchestrator = self.Orchestrator };

    // Every ancestor and every agent along the chain, asked in parallel unless a lease still covers
    // them. An answer that arrives after an invalidation is asked again (twice at most, then fail closed).
    private async Task<Upstream> GetUpstreamAsync()
    {
        var (answered, answer) = await _held.AskAsync(
            async () =>
            {
                if (UpstreamHeld.TryGet(LeaseClock.GetTimestamp(), out var held) && Now < held.UsableUntil)
                {
                    return (Upstream: held, Lease: TimeSpan.Zero, Asked: false);
                }
                var (asked, lease) = await AskUpstreamAsync();
                return (Upstream: asked, Lease: lease, Asked: true);
            },
            (answer, askedAt) =>
            {
                if (!answer.Asked)
                {
                    return;
                }
                if (answer.Upstream.Check.Usable)
                {
                    UpstreamHeld.Keep(answer.Upstream, answer.Lease, askedAt);
                }
                else
                {
                    UpstreamHeld.Drop();
                }
            });
        return answered ? answer.Upstream : new Upstream(new ChainCheck { Usable = false, Reason = DecisionReason.Error, BlockingTaskId = Key }, null, default);
    }

    private async Task<(Upstream Upstream, TimeSpan Lease)> AskUpstreamAsync()
    {
        var self = this.GetGrainId();
        var agents = new HashSet<string>(State.AncestorAgents, StringComparer.Ordinal) { State.Agent };
        var taskLeases = Task.WhenAll(State.Ancestors.Select(id => GrainFactory.GetGrainByKey<ITaskLifecycleGrain>(id).LeaseSelfAsync(self)));
        var agentLeases = Task.WhenAll(agents.Select(id => GrainFactory.GetGrainByKey<IAgentLifecycleGrain>(id).LeaseAsync(self)));
        var lease = Leases.Duration;
        var until = DateTimeOffset.MaxValue;
        foreach (var ancestor in await taskLeases)
        {
            if (!ancestor.Check.Usable)
            {
                return (new Upstream(ancestor.Check, null, default), TimeSpan.Zero);
            }
            lease = ancestor.Lease < lease ? ancestor.Lease : lease;
            until = ancestor.UsableUntil < until ? ancestor.UsableUntil : until;
        }
        AgentInfo? own = null;
        foreach (var agent in await agentLeases)
        {
            if (!agent.Agent.IsSuccess)
            {
                return (new Upstream(new ChainCheck { Usable = false, Reason = DecisionReason.AgentNotActive, BlockingTaskId = Key, Agent = agent.Agent.Error.Target ?? "" }, null, default), TimeSpan.Zero);
            }
            lease = agent.Lease < lease ? agent.Lease : lease;
            if (agent.Agent.Value.WorkloadId == State.Agent)
            {
                own = agent.Agent.Value;
            }
        }
        return (new Upstream(new ChainCheck { Usable = true, Reason = DecisionReason.Allowed }, own, until), lease);
    }
}
