using System.Security.Cryptography;
using GrantSilo.Grains.Hosting;
using GrantSilo.Hosting;
using GrantSilo.Identity.Tokens;
using GrantSilo.Testing;
using Microsoft.Extensions.DependencyInjection;
using Orleans.TestingHost;

namespace GrantSilo.Grains.Tests;

/// <summary>Two silos that require DPoP nonces (<c>GrantSilo:Dpop:RequireNonce</c>), sharing the cluster's call key as every multi-silo deployment does.</summary>
public sealed class TwoSiloNonceFixture() : GrantSiloClusterFixture(silos: 2)
{
    internal IReadOnlyList<DpopProofVerifier> Verifiers() =>
        [.. Cluster.Silos.Cast<InProcessSiloHandle>().Select(s => s.SiloHost.Services.GetRequiredService<DpopProofVerifier>())];

    protected override void ConfigureCluster(TestClusterBuilder builder) => builder.Properties["GrantSilo:Dpop:RequireNonce"] = "true";

    protected override void ConfigureSilo(ISiloBuilder silo)
    {
        silo.AddMemoryGrainStorage(GrantSiloStorage.Name);
        silo.UseInMemoryReminderService();
        silo.AddGrantSilo();
    }
}

/// <summary>
/// DPoP nonces are valid on every silo of a deployment, with no grain call: each silo derives the nonce key from the key
/// the silos share, so a nonce one silo offers is accepted wherever the credential's grain runs.
/// </summary>
public sealed class DpopNonceAcrossSilosTests(TwoSiloNonceFixture fixture) : IClassFixture<TwoSiloNonceFixture>
{
    private const string Url = "https://gateway.example.com/orders";

    [Fact]
    public async Task ANonceOfferedByEitherSilo_IsAcceptedForCredentialsOnBothSilos_AndAProofWithoutOne_IsAskedForIt()
    {
        var verifiers = fixture.Verifiers();
        Assert.Equal(2, verifiers.Count);
        Assert.NotSame(verifiers[0], verifiers[1]);
        var scope = GrantSilo.Scope.Create(["doc:*:*"], DataClassification.Internal, 0).Value;
        var agent = $"spiffe://test.dev/{Guid.NewGuid():N}/nonce";
        Assert.True((await fixture.Client.RegisterAgentAsync(agent, new AgentRegistration { Owner = "person:o", Ceiling = scope })).IsSuccess);
        var resource = new ResourceRef { Type = "doc", Path = "a" };

        // Credentials spread over both silos (random placement): each must accept the nonces of both.
        for (var i = 0; i < 6; i++)
        {
            using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
            var task = (await fixture.Client.CreateTaskAsync(new CreateTaskRequest { Person = "person:alice", Orchestrator = "orchestrator:test", Agent = agent, Scope = scope, Lifetime = TimeSpan.FromHours(1) })).Value;
            var session = (await fixture.Client.OpenSessionAsync(new OpenSessionRequest { Agent = agent })).Value;
            var issued = await fixture.Client.IssueCredentialAsync(session.SessionId, new IssueCredentialRequest { TaskId = task.TaskId, DpopKeyThumbprint = DpopProofs.Thumbprint(key) });
            Assert.True(issued.IsSuccess, issued.Error?.ToString());
            var token = issued.Value.Token;
            TokenPresentation With(string? nonce) => new() { DpopProof = DpopProofs.Make(key, "GET", Url, token, DateTimeOffset.UtcNow, nonce: nonce), Method = "GET", Url = Url };

            var without = await fixture.Client.AuthorizeAsync(token, "read", resource, With(null));
            Assert.Equal((DecisionKind.Deny, DecisionReason.DpopNonceRequired), (without.Kind, without.Reason));
            var forged = await fixture.Client.AuthorizeAsync(token, "read", resource, With(Convert.ToBase64String(RandomNumberGenerator.GetBytes(24)).TrimEnd('=').Replace('+', '-').Replace('/', '_')));
            Assert.Equal(DecisionReason.DpopNonceRequired, forged.Reason);
            foreach (var verifier in verifiers)
            {
                var decision = await fixture.Client.AuthorizeAsync(token, "read", resource, With(verifier.IssueNonce()));
                Assert.True(decision.IsAllowed, decision.ToString());
            }
        }
        // Both silos offer the very same nonce in a window: no state to share, nothing to ask.
        // (Asked of one silo either side of the other, so a window that turns meanwhile cannot make the two differ.)
        var (before, other, after) = (verifiers[0].IssueNonce(), verifiers[1].IssueNonce(), verifiers[0].IssueNonce());
        Assert.True(other == before || other == after);
    }
}
