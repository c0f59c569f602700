using GrantSilo.Grains.Access;
using GrantSilo.Grains.Catalog;
using System.Net;
using System.Reflection;
using GrantSilo.Grains.Decisions;
using GrantSilo.Grains.Policies;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace GrantSilo.Grains.Tests;

/// <summary>The silo's policy engine on its own: confirmation, fail-closed, and versions that only move forward.</summary>
public class PolicyEngineTests
{
    private static readonly AccessFacts Facts = new()
    {
        CredentialId = "c-1",
        TaskId = "t-1",
        RootTaskId = "t-1",
        Agent = "spiffe://test.dev/agent",
        RootPerson = "person:alice",
        DelegationDepth = 0,
        Action = "read",
        Resource = new ResourceRef { Type = "doc", Path = "a" },
        Now = DateTimeOffset.UnixEpoch,
        SessionStartedAt = DateTimeOffset.UnixEpoch,
        CredentialIssuedAt = DateTimeOffset.UnixEpoch,
        AgentOwner = "person:owner",
    };

    [Fact]
    public async Task Engine_ConfirmsTheActiveVersion_AndEvaluatesIt()
    {
        var store = new StubStore { Respond = _ => Version(0, DefaultPolicySet.Text) };
        var (engine, policy) = Create(store);

        var verdict = await policy.EvaluateAsync(Facts, CancellationToken.None);
        Assert.True(verdict.Allowed, verdict.Detail);
        Assert.Equal(0, verdict.PolicyVersion);
        Assert.Equal(["baseline-within-scope"], verdict.DeterminingPolicies);

        // Within the lease the store is not asked again: a decision is CPU work.
        await policy.EvaluateAsync(Facts, CancellationToken.None);
        Assert.Equal(1, store.Calls);
        Assert.Equal(0, engine.Current?.Version);
    }

    [Fact]
    public async Task Engine_ThatCannotConfirm_FailsClosed()
    {
        var unreachable = new StubStore { Respond = _ => throw new TimeoutException("store unreachable") };
        var (_, policy) = Create(unreachable);
        var verdict = await policy.EvaluateAsync(Facts, CancellationToken.None);
        Assert.False(verdict.Allowed);
        Assert.True(verdict.Unavailable);

        var garbled = new StubStore { Respond = _ => Version(3, "permit (principal, action") };
        var (_, garbledPolicy) = Create(garbled);
        Assert.True((await garbledPolicy.EvaluateAsync(Facts, CancellationToken.None)).Unavailable);
    }

    [Fact]
    public async Task AccessRules_AreConfirmedWithThePolicy_AndUnconfirmedRulesAreNotUsed()
    {
        var store = new StubStore { Respond = _ => Version(0, DefaultPolicySet.Text) };
        var (engine, _) = Create(store);
        var rules = await engine.GetConfirmedAccessRulesAsync();
        Assert.Equal(0, rules?.Version);
        Assert.Equal(ShippedRules.Sha256, rules?.Info.Sha256);

        // A store that cannot be reached: the door gets no rules (it refuses), never rules it could not confirm.
        var (unreachable, _) = Create(new StubStore { Respond = _ => throw new TimeoutException("store unreachable") });
        Assert.Null(await unreachable.GetConfirmedAccessRulesAsync());

        // Rules that do not validate are never installed.
        var (garbled, _) = Create(new StubStore { Respond = _ => Version(0, DefaultPolicySet.Text) with { AccessRules = ShippedRules.Version0(isActive: true) with { Version = 4, Sha256 = "x" }, AccessRulesText = "permit (principal" } });
        Assert.Null(await garbled.GetConfirmedAccessRulesAsync());
        Assert.Null(garbled.CurrentAccessRules);

        // Versions only move forward: a pushed newer version is kept over an older confirmation.
        var newer = new AccessRulesVersion { Info = ShippedRules.Version0(isActive: true) with { Version = 2, Sha256 = "y" }, Text = AccessRules.Text };
        await engine.InstallAccessRulesAsync(newer);
        await engine.RefreshAsync();
        Assert.Equal(2, engine.CurrentAccessRules?.Version);
    }

    [Fact]
    public async Task Engine_NeverMovesBackToAnOlderVersion()
    {
        var store = new StubStore { Respond = _ => Version(1, "@id(\"old\") permit (principal, action, resource);") };
        var (engine, _) = Create(store);
        await engine.InstallAsync(new PolicySetVersion { Info = Info(2, "@id(\"new\") forbid (principal, action, resource);"), Text = "@id(\"new\") forbid (principal, action, resource);" });

        // A confirmation that was in flight while version 2 was pushed answers with version 1.
        await engine.RefreshAsync();
        Assert.Equal(2, engine.Current?.Version);
    }

    private static (PolicyEngineHost Engine, CedarAccessPolicy Policy) Create(StubStore store)
    {
        var options = Options.Create(new GrantSiloPolicyOptions { ConfirmationLease = TimeSpan.FromHours(1) });
        var engine = new PolicyEngineHost(GrainFactoryProxy.For(store), new LocalSilo(), options, NullLogger<PolicyEngineHost>.Instance);
        return (engine, new CedarAccessPolicy(engine, options, NullLogger<CedarAccessPolicy>.Instance));
    }

    private static readonly AccessRules ShippedRules = new(AccessRules.Text);

    private static PolicySyncResponse Version(long version, string text) =>
        new() { Active = Info(version, text), Text = text, Catalog = DefaultResourceCatalog.Info(isActive: true), CatalogText = DefaultResourceCatalog.Text, AccessRules = ShippedRules.Version0(isActive: true), AccessRulesText = AccessRules.Text };

    private static PolicyVersionInfo Info(long version, string text) => new() { Version = version, Author = "test", Sha256 = PolicyText.Sha256(text) };

    private sealed class StubStore : IPolicyStoreSyncGrain
    {
        public required Func<PolicySyncRequest, PolicySyncResponse> Respond { get; init; }

        public int Calls { get; private set; }

        public Task<PolicySyncResponse> SyncAsync(PolicySyncRequest request)
        {
            Calls++;
            return Task.FromResult(Respond(request));
        }
    }

    private sealed class LocalSilo : ILocalSiloDetails
    {
        public string Name => "test";
        public string ClusterId => "test";
        public string DnsHostName => "localhost";
        public SiloAddress SiloAddress { get; } = SiloAddress.New(new IPEndPoint(IPAddress.Loopback, 11111), 1);
        public SiloAddress GatewayAddress => SiloAddress;
    }

    /// <summary>An <see cref="IGrainFactory"/> that hands out the stub store and refuses everything else.</summary>
    public class GrainFactoryProxy : DispatchProxy
    {
        private object? _store;

        internal static IGrainFactory For(IPolicyStoreSyncGrain store)
        {
            var proxy = Create<IGrainFactory, GrainFactoryProxy>();
            ((GrainFactoryProxy)(object)proxy)._store = store;
            return proxy;
        }

        protected override object? Invoke(MethodInfo? targetMethod, object?[]? args) =>
            targetMethod is { Name: "GetGrain", IsGenericMethod: true } && targetMethod.GetGenericArguments()[0] == typeof(IPolicyStoreSyncGrain)
                ? _store
                : throw new NotSupportedException($"{targetMethod?.Name} is not available in this test.");
    }
}
