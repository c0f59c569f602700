using System.Security.Cryptography;

namespace GrantSilo.Grains.Tests;

/// <summary>
/// DPoP and audience through the SDK: the credential grain checks how a token was presented for every door, so a token
/// bound to a key (<c>cnf.jkt</c>) is denied through <c>AuthorizeAsync</c>/<c>IntrospectAsync</c> without a valid proof by
/// that key for the request it came on, and a token issued for a resource is denied unless the asker serves that
/// resource. A bearer token for no resource in particular goes on as before.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class SdkTokenPresentationTests(ClusterFixture fixture)
{
    private const string Url = "https://mcp.example.com/tools/call";
    private readonly Scenario _s = new(fixture);

    private async Task<(string Token, ECDsa Key)> BoundAsync(string name, string? resource = null)
    {
        var scope = Scenario.Scope(0, "repo:read:*");
        var agent = await _s.AgentAsync(name, scope);
        var task = await _s.RootTaskAsync(agent, scope);
        var session = await fixture.Client.OpenSessionAsync(new OpenSessionRequest { Agent = agent });
        Assert.True(session.IsSuccess, session.Error?.ToString());
        var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var issued = await fixture.Client.IssueCredentialAsync(session.Value.SessionId, new IssueCredentialRequest
        {
            TaskId = task.TaskId,
            DpopKeyThumbprint = DpopProofs.Thumbprint(key),
            Resource = resource,
        });
        Assert.True(issued.IsSuccess, issued.Error?.ToString());
        return (issued.Value.Token, key);
    }

    private string Proof(ECDsa key, string token, string method = "POST", string url = Url, string? jti = null, TimeSpan? age = null) =>
        DpopProofs.Make(key, method, url, token, fixture.Time.GetUtcNow() - (age ?? TimeSpan.Zero), jti);

    private static TokenPresentation With(string proof, string method = "POST", string url = Url, string? audience = null) =>
        new() { DpopProof = proof, Method = method, Url = url, Audience = audience };

    [Fact]
    public async Task ACredentialsAudienceAndKeyBinding_AreWhatItsDescriptionSays()
    {
        var (token, key) = await BoundAsync("described", "https://files.example.com");
        var introspected = await fixture.Client.IntrospectAsync(token, new TokenPresentation { DpopProof = Proof(key, token), Method = "POST", Url = Url, Audience = "https://files.example.com" });
        Assert.True(introspected.IsSuccess && introspected.Value.Active, introspected.Error?.ToString() ?? introspected.Value.Reason.ToString());
        var described = await fixture.Client.GetCredentialAsync(introspected.Value.CredentialId!);
        Assert.True(described.IsSuccess, described.Error?.ToString());
        Assert.Equal("https://files.example.com", described.Value.Audience);
        Assert.Equal(DpopProofs.Thumbprint(key), described.Value.KeyThumbprint);

        // A bearer credential for no resource in particular says so: neither is set.
        var scope = Scenario.Scope(0, "repo:read:*");
        var agent = await _s.AgentAsync("described-bearer", scope);
        var task = await _s.RootTaskAsync(agent, scope);
        var session = await fixture.Client.OpenSessionAsync(new OpenSessionRequest { Agent = agent });
        var bearer = (await fixture.Client.IssueCredentialAsync(session.Value.SessionId, new IssueCredentialRequest { TaskId = task.TaskId })).Value;
        var plain = (await fixture.Client.GetCredentialAsync(bearer.CredentialId)).Value;
        Assert.Null(plain.Audience);
        Assert.Null(plain.KeyThumbprint);
    }

    [Fact]
    public async Task BoundToken_WithoutAProof_IsDeniedThroughTheSdk_AndIntrospectsInactive()
    {
        var (token, _) = await BoundAsync("bound-no-proof");
        var plain = await fixture.Client.AuthorizeAsync(token, "read", Scenario.Document);
        Assert.Equal((DecisionKind.Deny, DecisionReason.DpopProofInvalid), (plain.Kind, plain.Reason));
        Assert.Null(plain.TaskId);
        var none = await fixture.Client.AuthorizeAsync(token, "read", Scenario.Document, TokenPresentation.None);
        Assert.Equal(DecisionReason.DpopProofInvalid, none.Reason);
        var introspected = await fixture.Client.IntrospectAsync(token);
        Assert.True(introspected.IsSuccess, introspected.Error?.ToString());
        Assert.False(introspected.Value.Active);
        Assert.Equal(DecisionReason.DpopProofInvalid, introspected.Value.Reason);
        Assert.Null(introspected.Value.TaskId);
    }

    [Fact]
    public async Task BoundToken_WithAValidProof_IsAllowed_AndIntrospectsActive()
    {
        var (token, key) = await BoundAsync("bound-proof");
        var decision = await fixture.Client.AuthorizeAsync(token, "read", Scenario.Document, With(Proof(key, token)));
        Assert.True(decision.IsAllowed, decision.ToString());
        var introspected = await fixture.Client.IntrospectAsync(token, With(Proof(key, token)));
        Assert.True(introspected.Value.Active, introspected.Value.ToString());
    }

    [Fact]
    public async Task BoundToken_WithAProofByAnotherKey_ForAnotherUrl_OrMethod_OrToken_OrTooOld_IsDenied()
    {
        var (token, key) = await BoundAsync("bound-attacks");
        var (other, _) = await BoundAsync("bound-attacks-other");
        using var thief = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var attacks = new (string Name, TokenPresentation Presentation)[]
        {
            ("another key", With(Proof(thief, token))),
            ("another URL", With(Proof(key, token, url: "https://mcp.example.com/tools/delete"))),
            ("the proof names another URL than the request", With(Proof(key, token), url: "https://evil.example.com/tools/call")),
            ("another method", With(Proof(key, token, method: "GET"))),
            ("the proof names another method than the request", With(Proof(key, token), method: "PUT")),
            ("another token (ath)", With(Proof(key, other))),
            ("too old", With(Proof(key, token, age: TimeSpan.FromMinutes(5)))),
            ("not a JWT", With("not-a-proof")),
            ("no method or URL", new TokenPresentation { DpopProof = Proof(key, token) }),
        };
        foreach (var (name, presentation) in attacks)
        {
            var decision = await fixture.Client.AuthorizeAsync(token, "read", Scenario.Document, presentation);
            Assert.True((decision.Kind, decision.Reason) == (DecisionKind.Deny, DecisionReason.DpopProofInvalid), $"{name}: {decision}");
            var introspected = await fixture.Client.IntrospectAsync(token, presentation);
            Assert.False(introspected.Value.Active, name);
        }
        // And the token is still good with a proper proof: nothing above was a lucky miss.
        Assert.True((await fixture.Client.AuthorizeAsync(token, "read", Scenario.Document, With(Proof(key, token)))).IsAllowed);
    }

    [Fact]
    public async Task BoundToken_AReplayedProof_IsDenied()
    {
        var (token, key) = await BoundAsync("bound-replay");
        var jti = Guid.NewGuid().ToString("N");
        var proof = Proof(key, token, jti: jti);
        Assert.True((await fixture.Client.AuthorizeAsync(token, "read", Scenario.Document, With(proof))).IsAllowed);
        var replayed = await fixture.Client.AuthorizeAsync(token, "read", Scenario.Document, With(proof));
        Assert.Equal((DecisionKind.Deny, DecisionReason.DpopProofInvalid), (replayed.Kind, replayed.Reason));
        Assert.Contains("used before", replayed.Detail, StringComparison.Ordinal);
        // A new proof with the same jti is the same proof id: refused too, at introspection as at authorize.
        Assert.False((await fixture.Client.IntrospectAsync(token, With(Proof(key, token, jti: jti)))).Value.Active);
        Assert.True((await fixture.Client.AuthorizeAsync(token, "read", Scenario.Document, With(Proof(key, token)))).IsAllowed);
    }

    [Fact]
    public async Task BoundToken_CannotProveADelegation_WithoutItsProof()
    {
        var scope = Scenario.Scope(1, "repo:read:*");
        var planner = await _s.AgentAsync("bound-planner", scope);
        var worker = await _s.AgentAsync("bound-worker", Scenario.Scope(0, "repo:read:*"));
        var task = await _s.RootTaskAsync(planner, scope);
        var session = await fixture.Client.OpenSessionAsync(new OpenSessionRequest { Agent = planner });
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var issued = (await fixture.Client.IssueCredentialAsync(session.Value.SessionId, new IssueCredentialRequest { TaskId = task.TaskId, DpopKeyThumbprint = DpopProofs.Thumbprint(key) })).Value;
        var request = new DelegationRequest { ProofToken = issued.Token, Agent = worker, Scope = Scenario.Scope(0, "repo:read:*"), Lifetime = TimeSpan.FromMinutes(30) };
        var refused = await fixture.Client.DelegateAsync(task.TaskId, request);
        Assert.Equal(GrantErrorCode.InvalidProof, refused.Error?.Code);
        var delegated = await fixture.Client.DelegateAsync(task.TaskId, request with { ProofPresentation = With(Proof(key, issued.Token)) });
        Assert.True(delegated.IsSuccess, delegated.Error?.ToString());
    }

    [Fact]
    public async Task AudienceBoundToken_IsDeniedOnline_UnlessTheAskerServesItsResource()
    {
        var scope = Scenario.Scope(0, "repo:read:*");
        var agent = await _s.AgentAsync("audience", scope);
        var task = await _s.RootTaskAsync(agent, scope);
        var session = await fixture.Client.OpenSessionAsync(new OpenSessionRequest { Agent = agent });
        var token = (await fixture.Client.IssueCredentialAsync(session.Value.SessionId, new IssueCredentialRequest { TaskId = task.TaskId, Resource = "https://a.example.com" })).Value.Token;

        foreach (var (name, presentation) in new[] { ("nothing stated", TokenPresentation.None), ("resource B", new TokenPresentation { Audience = "https://b.example.com" }), ("a case variant", new TokenPresentation { Audience = "https://A.example.com" }) })
        {
            var decision = await fixture.Client.AuthorizeAsync(token, "read", Scenario.Document, presentation);
            Assert.True((decision.Kind, decision.Reason) == (DecisionKind.Deny, DecisionReason.AudienceMismatch), $"{name}: {decision}");
            Assert.Null(decision.TaskId);
            Assert.Equal(DecisionReason.AudienceMismatch, (await fixture.Client.IntrospectAsync(token, presentation)).Value.Reason);
        }
        Assert.Equal(DecisionReason.AudienceMismatch, (await fixture.Client.AuthorizeAsync(token, "read", Scenario.Document)).Reason);
        var right = new TokenPresentation { Audience = "https://a.example.com" };
        Assert.True((await fixture.Client.AuthorizeAsync(token, "read", Scenario.Document, right)).IsAllowed);
        Assert.True((await fixture.Client.IntrospectAsync(token, right)).Value.Active);
    }

    [Fact]
    public async Task BearerToken_ForNoResource_IsAllowedAsBefore_WhateverTheAskerServes()
    {
        var scope = Scenario.Scope(0, "repo:read:*");
        var agent = await _s.AgentAsync("bearer", scope);
        var task = await _s.RootTaskAsync(agent, scope);
        var credential = await _s.IssueAsync(agent, task.TaskId);
        Assert.True((await fixture.Client.AuthorizeAsync(credential.Token, "read", Scenario.Document)).IsAllowed);
        Assert.True((await fixture.Client.AuthorizeAsync(credential.Token, "read", Scenario.Document, new TokenPresentation { Audience = "https://b.example.com" })).IsAllowed);
    }
}
