using GrantSilo.Grains.Approvals;
using GrantSilo.Grains.Decisions;
using GrantSilo.Grains.Diagnostics;
using GrantSilo.Grains.Hosting;
using GrantSilo.Grains.Leases;
using GrantSilo.Grains.Policies;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace GrantSilo.Grains.Credentials;

// Step-up: a decision the policy allows only with a person's approval. Without an approval id the request is
// recorded for approvers and answered StepUpRequired; with one, the approval is consumed (a durable, single
// use) and the allow is checked once more against everything it rests on.
internal sealed partial class CredentialGrain
{
    // Policy demands a person's approval: without an approval id, records the request and answers
    // StepUpRequired; with one, consumes it (a durable write) and allows if the credential is still live.
    private async Task<(Decision Decision, ChainCheck? Chain)> StepUpThenAllowAsync(string action, ResourceRef canonicalResource, string? approvalId, PolicyVerdict verdict, ChainCheck chain)
    {
        var epoch = _held.Epoch;
        if (await StepUpAsync(action, canonicalResource, approvalId, verdict, chain) is { } stepDecision)
        {
            return (stepDecision, chain);
        }
        // Consuming the approval awaited: everything the allow rests on is checked again after it.
        var now = Now;
        if (!IsLive(now))
        {
            return (DenyEndedMeanwhile(), chain);
        }
        if (epoch != _held.Epoch)
        {
            // A source took its answer back meanwhile: ask afresh (never from a lease) before allowing.
            var (fresh, session) = await GetLeasesAsync(now);
            if (!fresh.Check.Usable || !session.Usable || fresh.Agent is null)
            {
                return (Deny(fresh.Check.Usable ? DecisionReason.SessionNotActive : fresh.Check.Reason, "The task chain or session ended while the approval was being used."), chain);
            }
            now = Now;
            if (!IsLive(now))
            {
                return (DenyEndedMeanwhile(), chain);
            }
        }
        if (SiloLeaseLapsed() is { } lapsed)
        {
            return (lapsed, chain);
        }
        return (Allow(verdict, now, approvalId), chain);
    }

    // Without an approval id: records the exact request in a new approval and answers StepUpRequired.
    // With one: the approval must be approved, unexpired, unused and for exactly this request; using
    // it is a durable write, so it can never let a second request through. Null: consumed, allow.
    private async Task<Decision?> StepUpAsync(string action, ResourceRef resource, string? approvalId, PolicyVerdict verdict, ChainCheck chain)
    {
        if (approvalId is null)
        {
            var id = ApprovalGrain.NewApprovalId();
            var created = await GrainFactory.GetGrainByKey<IApprovalLifecycleGrain>(id).CreateAsync(new ApprovalSpec
            {
                CredentialId = Key,
                TaskId = State.TaskId,
                Agent = State.Agent,
                RootPerson = chain.RootPerson,
                Action = action,
                Resource = resource,
                PolicyVersion = verdict.PolicyVersion ?? 0,
                ApprovalPolicies = verdict.ApprovalPolicies,
            });
            if (!created.IsSuccess)
            {
                return Deny(DecisionReason.Error, $"The approval request could not be recorded ({created.Error.Message}); failing closed.") with
                {
                    PolicyVersion = verdict.PolicyVersion,
                    DeterminingPolicies = verdict.DeterminingPolicies,
                };
            }
            return new Decision
            {
                Kind = DecisionKind.StepUpRequired,
                Reason = DecisionReason.StepUpRequired,
                Detail = $"{verdict.Detail} Ask a person to approve '{id}' (before {created.Value.ExpiresAt:O}), then retry with it.",
                CredentialId = Key,
                TaskId = State.TaskId,
                Agent = State.Agent,
                DecidedAt = Now,
                PolicyVersion = verdict.PolicyVersion,
                DeterminingPolicies = verdict.DeterminingPolicies,
                ApprovalId = id,
            };
        }
        var check = await GrainFactory.GetGrainByKey<IApprovalLifecycleGrain>(approvalId).ConsumeAsync(Key, action, resource);
        if (!check.Consumed)
        {
            return Deny(check.Reason, check.Detail) with
            {
                PolicyVersion = verdict.PolicyVersion,
                DeterminingPolicies = verdict.DeterminingPolicies,
                ApprovalId = approvalId,
            };
        }
        return null;
    }
}
