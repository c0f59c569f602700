using System.Security.Cryptography;
using GrantSilo.Client;
using GrantSilo.Identity.Tokens;

namespace GrantSilo.Grains.Tests;

/// <summary>
/// Token exchange (RFC 8693) through the SDK's <c>ExchangeCredentialAsync</c>, the path <c>POST /oauth2/token</c> runs:
/// a three-level delegation yields <c>act</c> chains equal to the task chain, and every widening (scope, lifetime,
/// depth) is refused with the very error <c>DelegateAsync</c> gives for it.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class SdkTokenExchangeTests(ClusterFixture fixture)
{
    private readonly Scenario _s = new(fixture);

    private string ActorToken(string agent) => fixture.Identity.AgentToken(agent);

    private static CredentialClaims Claims(string token) => CredentialJwt.ReadVerified(token) ?? throw new InvalidOperationException("not a credential");

    [Fact]
    public async Task Exchange_ThreeLevels_ActChainsAreTheTaskChain()
    {
        var planner = await _s.AgentAsync("x-planner", Scenario.Scope(2, "repo:read:*", "repo:write:*"));
        var lead = await _s.AgentAsync("x-lead", Scenario.Scope(2, "repo:read:*", "repo:write:*"));
        var worker = await _s.AgentAsync("x-worker", Scenario.Scope(2, "repo:read:*"));
        var root = await _s.RootTaskAsync(planner, Scenario.Scope(2, "repo:read:*", "repo:write:*"));
        var plannerToken = (await _s.IssueAsync(planner, root.TaskId, TimeSpan.FromMinutes(15))).Token;

        var first = await fixture.Client.ExchangeCredentialAsync(new CredentialExchangeRequest
        {
            SubjectToken = plannerToken,
            Actor = lead,
            ActorToken = ActorToken(lead),
            Scope = Scenario.Scope(1, "repo:read:*", "repo:write:*"),
            Lifetime = TimeSpan.FromMinutes(10),
            Resource = "https://repo.example.com",
        });
        Assert.True(first.IsSuccess, first.Error?.ToString());
        var second = await fixture.Client.ExchangeCredentialAsync(new CredentialExchangeRequest
        {
            SubjectToken = first.Value.Token,
            Actor = worker,
            ActorToken = ActorToken(worker),
            Scope = Scenario.Scope(0, "repo:read:*"),
            Lifetime = TimeSpan.FromMinutes(5),
            Resource = "https://repo.example.com",
        });
        Assert.True(second.IsSuccess, second.Error?.ToString());

        foreach (var (issued, agent) in new[] { (first.Value, lead), (second.Value, worker) })
        {
            var claims = Claims(issued.Token);
            Assert.Equal(agent, claims.Subject);
            Assert.Equal(issued.TaskId, claims.TaskId);
            var task = (await fixture.Client.GetTaskAsync(issued.TaskId)).Value;
            Assert.Equal([.. task.AncestorAgents.Reverse(), task.Orchestrator], claims.Actors);
        }
        Assert.Equal([lead, planner], Claims(second.Value.Token).Actors.Take(2));
        Assert.Equal(3, Claims(second.Value.Token).Actors.Count);
        // The worker's credential works online, for its resource, and narrowly.
        var atRepo = new TokenPresentation { Audience = "https://repo.example.com" };
        Assert.True((await fixture.Client.AuthorizeAsync(second.Value.Token, "read", Scenario.Document, atRepo)).IsAllowed);
        Assert.Equal(DecisionReason.ScopeDoesNotCover, (await fixture.Client.AuthorizeAsync(second.Value.Token, "write", Scenario.Document, atRepo)).Reason);
    }

    [Fact]
    public async Task Exchange_EveryWidening_IsRefusedWithTheErrorDelegateGives()
    {
        var planner = await _s.AgentAsync("w-planner", Scenario.Scope(2, "repo:read:*", "repo:write:*"));
        var worker = await _s.AgentAsync("w-worker", Scenario.Scope(2, "repo:read:*", "repo:write:*", "repo:delete:*"));
        var root = await _s.RootTaskAsync(planner, Scenario.Scope(1, "repo:read:*", "repo:write:*"));
        var plannerToken = (await _s.IssueAsync(planner, root.TaskId, TimeSpan.FromMinutes(10))).Token;
        var exchange = new CredentialExchangeRequest { SubjectToken = plannerToken, Actor = worker, ActorToken = ActorToken(worker), Scope = Scenario.Scope(0, "repo:read:*") };

        foreach (var (name, scope) in new[] { ("a wider scope", Scenario.Scope(0, "repo:delete:*")), ("a deeper chain", Scenario.Scope(1, "repo:read:*")) })
        {
            var delegated = await _s.DelegateAsync(root.TaskId, plannerToken, worker, scope, TimeSpan.FromMinutes(5));
            var exchanged = await fixture.Client.ExchangeCredentialAsync(exchange with { Scope = scope });
            Assert.False(delegated.IsSuccess, name);
            Assert.False(exchanged.IsSuccess, name);
            Assert.True(delegated.Error!.Code == exchanged.Error!.Code, $"{name}: delegate {delegated.Error} vs exchange {exchanged.Error}");
            Assert.True(exchanged.Error.Code is GrantErrorCode.ScopeExceedsParent or GrantErrorCode.DepthLimitExceeded or GrantErrorCode.DelegationForbidden, $"{name}: {exchanged.Error}");
        }
        // A longer life than the subject token's is refused, never trimmed.
        var longer = await fixture.Client.ExchangeCredentialAsync(exchange with { Lifetime = TimeSpan.FromMinutes(11) });
        Assert.Equal(GrantErrorCode.LifetimeExceedsParent, longer.Error?.Code);
        // A worker below a depth-0 task: the delegation rule's own error.
        var leaf = (await fixture.Client.ExchangeCredentialAsync(exchange)).Value;
        var deeper = await fixture.Client.ExchangeCredentialAsync(new CredentialExchangeRequest { SubjectToken = leaf.Token, Actor = planner, ActorToken = ActorToken(planner), Scope = Scenario.Scope(0, "repo:read:*") });
        var delegatedDeeper = await _s.DelegateAsync(leaf.TaskId, leaf.Token, planner, Scenario.Scope(0, "repo:read:*"), TimeSpan.FromMinutes(1));
        Assert.Equal(delegatedDeeper.Error?.Code, deeper.Error?.Code);
        Assert.Equal(GrantErrorCode.DelegationForbidden, deeper.Error?.Code);
    }

    [Fact]
    public async Task Exchange_HonoursMayAct_EvenThroughDelegateAsync_TheActorsOwnToken_AndTheSubjectsKeyBinding()
    {
        var planner = await _s.AgentAsync("m-planner", Scenario.Scope(1, "repo:read:*"));
        var worker = await _s.AgentAsync("m-worker", Scenario.Scope(0, "repo:read:*"));
        var intruder = await _s.AgentAsync("m-intruder", Scenario.Scope(0, "repo:read:*"));
        var root = await _s.RootTaskAsync(planner, Scenario.Scope(1, "repo:read:*"));
        var session = (await fixture.Client.OpenSessionAsync(new OpenSessionRequest { Agent = planner })).Value;
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var subject = (await fixture.Client.IssueCredentialAsync(session.SessionId, new IssueCredentialRequest { TaskId = root.TaskId, MayAct = worker, DpopKeyThumbprint = DpopProofs.Thumbprint(key) })).Value.Token;
        string Proof() => DpopProofs.Make(key, "POST", "https://as.example.com/oauth2/token", subject, fixture.Time.GetUtcNow());
        TokenPresentation Presented() => new() { DpopProof = Proof(), Method = "POST", Url = "https://as.example.com/oauth2/token" };

        // may_act names the worker: another actor is refused before anything is made.
        var other = await fixture.Client.ExchangeCredentialAsync(new CredentialExchangeRequest { SubjectToken = subject, SubjectPresentation = Presented(), Actor = intruder, ActorToken = ActorToken(intruder) });
        Assert.Equal(GrantErrorCode.InvalidProof, other.Error?.Code);
        // The server is the authority, not the client library: a delegation proved with the bound credential (and a valid
        // proof of its key) that names another agent is refused with the same error, however it is asked for.
        var bypass = await fixture.Client.DelegateAsync(root.TaskId, new DelegationRequest { ProofToken = subject, ProofPresentation = Presented(), Agent = intruder, Scope = Scenario.Scope(0, "repo:read:*"), Lifetime = TimeSpan.FromMinutes(5) });
        Assert.False(bypass.IsSuccess, "a delegation to another agent than may_act names was made");
        Assert.Equal(GrantErrorCode.InvalidProof, bypass.Error!.Code);
        Assert.Contains("may_act", bypass.Error.Message, StringComparison.Ordinal);
        Assert.Equal(intruder, bypass.Error.Target);
        // The subject is bound: without its proof it proves nothing.
        var unproved = await fixture.Client.ExchangeCredentialAsync(new CredentialExchangeRequest { SubjectToken = subject, Actor = worker, ActorToken = ActorToken(worker) });
        Assert.Equal(GrantErrorCode.InvalidProof, unproved.Error?.Code);
        // The actor token must prove the actor: the intruder's token for the worker's name opens no session.
        var impostor = await fixture.Client.ExchangeCredentialAsync(new CredentialExchangeRequest { SubjectToken = subject, SubjectPresentation = Presented(), Actor = worker, ActorToken = ActorToken(intruder) });
        Assert.False(impostor.IsSuccess);
        Assert.True(impostor.Error!.Code is GrantErrorCode.Forbidden or GrantErrorCode.Unauthenticated, impostor.Error.ToString());
        // All in order, the worker's credential is bound to the worker's key.
        using var workerKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var issued = await fixture.Client.ExchangeCredentialAsync(new CredentialExchangeRequest { SubjectToken = subject, SubjectPresentation = Presented(), Actor = worker, ActorToken = ActorToken(worker), DpopKeyThumbprint = DpopProofs.Thumbprint(workerKey) });
        Assert.True(issued.IsSuccess, issued.Error?.ToString());
        Assert.Equal(DpopProofs.Thumbprint(workerKey), Claims(issued.Value.Token).ConfirmationThumbprint);
        Assert.Equal(DecisionReason.DpopProofInvalid, (await fixture.Client.AuthorizeAsync(issued.Value.Token, "read", Scenario.Document)).Reason);
    }
}
