using GrantSilo.Grains.Hosting;
using GrantSilo.Identity;

namespace GrantSilo.Grains.Audit;

/// <summary>The audit record of a decision: its lineage, never a token or secret (only its keyed hash), never purpose text.</summary>
internal static class DecisionRecords
{
    public static AuditRecord For(string id, DateTimeOffset now, Decision decision, string credentialId, string? tokenHash, string? action, ResourceRef? resource, ChainCheck? chain, string? sessionId, Caller? caller) => new()
    {
        Id = id,
        Kind = AuditEventKind.Decision,
        At = decision.DecidedAt == default ? now : decision.DecidedAt,
        RootPerson = chain?.RootPerson is { Length: > 0 } person ? person : null,
        Orchestrator = chain?.Orchestrator is { Length: > 0 } orchestrator ? orchestrator : null,
        TaskChain = chain is null ? [] : Chain(chain, decision.TaskId),
        TaskId = decision.TaskId,
        Agent = decision.Agent,
        SessionId = sessionId,
        CredentialId = credentialId,
        TokenHash = tokenHash,
        CallerIssuer = caller?.Issuer,
        CallerSubject = caller?.Subject,
        CallerName = caller?.Name,
        Action = action,
        ResourceType = resource?.Type,
        ResourcePath = resource?.Path,
        Decision = decision.Kind,
        Reason = decision.Reason,
        Detail = decision.Detail,
        DeterminingPolicies = decision.DeterminingPolicies,
        PolicyVersion = decision.PolicyVersion,
        ApprovalId = decision.ApprovalId,
    };

    private static IReadOnlyList<string> Chain(ChainCheck chain, string? taskId)
    {
        if (taskId is null)
        {
            return chain.Ancestors;
        }
        var tasks = new string[chain.Ancestors.Count + 1];
        for (var i = 0; i < chain.Ancestors.Count; i++)
        {
            tasks[i] = chain.Ancestors[i];
        }
        tasks[^1] = taskId;
        return tasks;
    }
}
