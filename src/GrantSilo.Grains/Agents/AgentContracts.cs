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

    /// <summary>
    /// Records, durably, a task being created for the agent, before the task itself exists: no tracking, no task,
    /// so every task of the agent is reached when it is suspended. Refused when the agent is not active, or with
    /// <see cref="GrantErrorCode.QuotaExceeded"/> when it has as many live tasks as allowed.
    /// </summary>
    [Alias("RecordTask")]
    Task<GrantResult<AgentInfo>> RecordTaskAsync(string taskId);

    /// <summary>
    /// A larger share of <see cref="Hosting.GrantSiloOptions.MaxLiveCredentialsPerAgent"/> for a session that holds
    /// <paramref name="live"/> live credentials: the answer, written durably first, is how many it may hold (more than
    /// <paramref name="live"/>); the shares of the agent's sessions together never exceed the setting. Refused with
    /// <see cref="GrantErrorCode.QuotaExceeded"/> (naming the setting) when none is left.
    /// </summary>
    [Alias("AllowCredentials")]
    Task<GrantResult<int>> AllowCredentialsAsync(string sessionId, int live);

    /// <summary>Forgets a task or session that ended.</summary>
    [OneWay, Alias("Untrack")]
    Task UntrackAsync(string kind, string id);
}
