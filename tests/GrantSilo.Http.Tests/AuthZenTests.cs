using GrantSilo.Http;

namespace GrantSilo.Http.Tests;

public sealed class AuthZenTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 26, 12, 0, 0, TimeSpan.Zero);

    [Fact]
    public void OnlyAnAllow_IsTrue()
    {
        var allow = AuthZenEndpoints.Map(new Decision { Kind = DecisionKind.Allow, Reason = DecisionReason.Allowed, DecidedAt = Now, PolicyVersion = 3, DeterminingPolicies = ["p1"] });
        Assert.True(allow.Decision);
        Assert.Equal("allowed", allow.Context!["reason"]!.GetValue<string>());
        Assert.Equal(3, allow.Context["policy_version"]!.GetValue<long>());

        // An allow kind with another reason is not an allow (as Decision.IsAllowed says).
        Assert.False(AuthZenEndpoints.Map(new Decision { Kind = DecisionKind.Allow, Reason = DecisionReason.Error, DecidedAt = Now }).Decision);
        Assert.False(AuthZenEndpoints.Map(Decision.Deny(DecisionReason.ScopeDoesNotCover, "no", Now)).Decision);
    }

    [Fact]
    public void AStepUp_IsFalse_NamingTheApproval()
    {
        var stepUp = AuthZenEndpoints.Map(new Decision { Kind = DecisionKind.StepUpRequired, Reason = DecisionReason.StepUpRequired, ApprovalId = "ap-1", DecidedAt = Now });
        Assert.False(stepUp.Decision);
        Assert.Equal("step_up_required", stepUp.Context!["reason"]!.GetValue<string>());
        Assert.True(stepUp.Context["step_up_required"]!.GetValue<bool>());
        Assert.Equal("ap-1", stepUp.Context["approval_id"]!.GetValue<string>());
    }

    [Fact]
    public void ADetailThatLooksLikeAToken_IsWithheld()
    {
        var token = "eyJhbGciOiJFUzI1NiIsInR5cCI6ImF0K2p3dCJ9.eyJqdGkiOiIke0NyZWRlbnRpYWxUb2tlbi5OZXdDcmVkZW50aWFsSWQoKX0ifQ.c2lnbmF0dXJlLXNpZ25hdHVyZS1zaWduYXR1cmU";
        var denied = AuthZenEndpoints.Map(Decision.Deny(DecisionReason.InvalidSecret, $"bad {token}", Now));
        Assert.DoesNotContain(token, denied.Context!.ToJsonString(), StringComparison.Ordinal);
    }
}
