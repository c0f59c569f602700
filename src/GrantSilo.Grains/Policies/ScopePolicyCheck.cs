using GrantSilo.Grains.Decisions;

namespace GrantSilo.Grains.Policies;

/// <summary>The task whose scope is checked: its id (and the id as errors may show it), agent, scope and place in its chain.</summary>
internal sealed record ScopeSubject(string TaskId, string ShownTaskId, AgentInfo Agent, Scope Scope, int Depth, string RootPerson, string RootTaskId);

/// <summary>
/// Checks every permission of a scope against the active policy with representative requests:
/// the task's agent as principal, the permission's action (<c>*</c> as <c>Action::"*"</c>), and a
/// resource of its type at its pattern's prefix. A permission is still permitted when the policy
/// allows (or allows with approval) it at some classification up to the scope's highest, tried
/// from that highest down; a policy that forbids only part of it (restricted exports, say) still
/// guards each decision. Returns the version checked, or a <see cref="GrantErrorCode.PolicyForbidsScope"/>
/// error naming the first permission the policy no longer permits at all. The purpose text is not
/// part of the check.
/// </summary>
/// <remarks>
/// A plain service over <see cref="IAccessPolicy"/>: the task grain asks it at creation, delegation, checkpoints
/// and re-authorization, and tests ask it without a cluster.
/// </remarks>
internal sealed class ScopePolicyCheck(IAccessPolicy policy)
{
    public async Task<GrantResult<long?>> CheckAsync(ScopeSubject subject, DateTimeOffset now, CancellationToken cancellationToken)
    {
        long? version = null;
        var scope = subject.Scope;
        foreach (var permission in scope.Permissions)
        {
            PolicyVerdict? refused = null;
            var permitted = false;
            for (var classification = scope.MaxClassification; classification >= DataClassification.Public && !permitted; classification--)
            {
                var verdict = await policy.EvaluateAsync(new AccessFacts
                {
                    CredentialId = "",
                    TaskId = subject.TaskId,
                    RootTaskId = subject.RootTaskId,
                    Agent = subject.Agent.WorkloadId,
                    RootPerson = subject.RootPerson,
                    DelegationDepth = subject.Depth,
                    Action = permission.Action,
                    Resource = new ResourceRef
                    {
                        Type = permission.ResourceType,
                        Path = permission.Pattern.Prefix.Length == 0 ? "*" : permission.Pattern.Prefix,
                        Classification = classification,
                    },
                    Now = now,
                    SessionStartedAt = now,
                    CredentialIssuedAt = now,
                    AgentOwner = subject.Agent.Owner,
                    AgentAttributes = subject.Agent.Attributes,
                    AgentGroups = subject.Agent.Groups,
                }, cancellationToken);
                if (verdict.Unavailable)
                {
                    return GrantResult<long?>.Fail(GrantErrorCode.Unavailable, $"The active policy could not be confirmed, so the scope of task '{subject.ShownTaskId}' could not be checked; retry. ({verdict.Detail})");
                }
                version = verdict.PolicyVersion;
                permitted = verdict.Allowed;
                refused ??= verdict.Allowed ? null : verdict;
            }
            if (!permitted)
            {
                return GrantResult<long?>.Fail(new GrantError(
                    GrantErrorCode.PolicyForbidsScope,
                    $"Policy version {version} no longer permits '{permission}' at any classification up to {scope.MaxClassification}: {refused?.Detail} Revoke the task, or publish a policy that permits it.",
                    permission: permission.ToString(),
                    target: subject.ShownTaskId));
            }
        }
        return GrantResult<long?>.Ok(version);
    }
}
