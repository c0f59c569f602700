using Orleans.Concurrency;

namespace GrantSilo.Grains.Agents;

// The agent protocol between grains. Not part of the client surface.

/// <summary>An agent's answer with a decision lease.</summary>
[GenerateSerializer, Immutable, Alias("grantsilo.agent-lease")]
internal sealed record AgentLease([property: Id(0)] GrantResult<AgentInfo> Agent, [property: Id(1)] TimeSpan Lease);

/// <summary>Grain-to-grain operations on agents.</summary>
[Alias("grantsilo.IAgentLifecycleGrain")]
internal interface IAgentLifecycleGrain : IGrainWithStringKey
{
    /// <summary>The agent's registration if it is active; an error otherwise.</summary>
    [AlwaysInterleave, Alias("GetActive")]
    Task<GrantResult<AgentInfo>> GetActiveAsync();

    /// <summary>The agent's registration if it is active, leased to <paramref name="holder"/> (a task of a chain it is on).</summary>
    [AlwaysInterleave, Alias("Lease")]
    Task<AgentLease> LeaseAsync(GrainId holder);

    /// <summary>Records a task assigned to the agent. One-way so task creation never waits on a busy agent; a task arriving after suspension is ended at once.</summary>
    [OneWay, Alias("TrackTask")]
    Task TrackTaskAsync(string taskId);

    /// <summary>Records a session of the agent; fails if the agent is not active.</summary>
    [Alias("TrackSession")]
    Task<GrantResult<AgentInfo>> TrackSessionAsync(string sessionId);

    /// <summary>Forgets a task or session that ended.</summary>
    [OneWay, Alias("Untrack")]
    Task UntrackAsync(string kind, string id);
}
