using Orleans.Concurrency;

namespace GrantSilo.GrainInterfaces;

/// <summary>An agent, keyed by its workload id (for example <c>spiffe://acme.dev/agent/planner</c>).</summary>
[Alias("grantsilo.IAgentGrain")]
public interface IAgentGrain : IGrainWithStringKey
{
    /// <summary>Registers the agent. Registering again with the same owner and ceiling returns the existing agent.</summary>
    [Alias("Register")]
    Task<GrantResult<AgentInfo>> RegisterAsync(AgentRegistration registration, CancellationToken cancellationToken = default);

    [AlwaysInterleave, Alias("Get")]
    Task<GrantResult<AgentInfo>> GetAsync(CancellationToken cancellationToken = default);

    /// <summary>Suspends the agent and ends all its live sessions, tasks and credentials.</summary>
    [Alias("Suspend")]
    Task<GrantResult<AgentInfo>> SuspendAsync(string reason, CancellationToken cancellationToken = default);

    /// <summary>Lets a suspended agent act again. What ended on suspension stays ended.</summary>
    [Alias("Resume")]
    Task<GrantResult<AgentInfo>> ResumeAsync(string reason, CancellationToken cancellationToken = default);

    /// <summary>Retires the agent for good and ends all its live sessions, tasks and credentials.</summary>
    [Alias("Retire")]
    Task<GrantResult<AgentInfo>> RetireAsync(string reason, CancellationToken cancellationToken = default);
}
