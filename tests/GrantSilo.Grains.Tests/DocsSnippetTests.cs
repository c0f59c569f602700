using System.Text.RegularExpressions;
using GrantSilo.Client;
using GrantSilo.Grains.Hosting;
using GrantSilo.Testing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Orleans.TestingHost;

namespace GrantSilo.Grains.Tests;

/// <summary>
/// Every C# block of README.md and docs/*.md is code of this file: a block is preceded by
/// <c>&lt;!-- snippet: NAME --&gt;</c>, and its text equals (white space aside) the region
/// <c>#region snippet: NAME</c> below, which a test runs against an in-process cluster. Editing either
/// side alone fails <see cref="EveryCSharpBlockInTheDocs_IsTheCodeOfARegionHere"/>. The snippets run on
/// a cluster of their own, reachable over TCP as a reader's silo would be, and on real time.
/// </summary>
public partial class DocsSnippetTests(DocsSnippetTests.DocsClusterFixture fixture) : IClassFixture<DocsSnippetTests.DocsClusterFixture>
{
    [Fact]
    public void EveryCSharpBlockInTheDocs_IsTheCodeOfARegionHere()
    {
        var root = RepositoryRoot();
        var regions = Regions(File.ReadAllText(Directory.EnumerateFiles(Path.Combine(root, "tests"), $"{nameof(DocsSnippetTests)}.cs", SearchOption.AllDirectories).Single()));
        var documents = Directory.EnumerateFiles(Path.Combine(root, "docs"), "*.md").Prepend(Path.Combine(root, "README.md"));
        var blocks = documents.SelectMany(d => CSharpBlocks(root, d)).ToList();

        Assert.NotEmpty(blocks);
        foreach (var block in blocks)
        {
            Assert.True(block.Name is not null, $"{block.Where}: a C# block needs a '<!-- snippet: NAME -->' line before it and a matching '#region snippet: NAME' in {nameof(DocsSnippetTests)}.cs.");
            Assert.True(regions.TryGetValue(block.Name!, out var code), $"{block.Where}: no '#region snippet: {block.Name}' in {nameof(DocsSnippetTests)}.cs.");
            Assert.True(Normalize(code) == Normalize(block.Code), $"{block.Where}: the block differs from '#region snippet: {block.Name}' in {nameof(DocsSnippetTests)}.cs; change both.");
        }
        Assert.Equal(blocks.Count, blocks.Select(b => b.Name).Distinct().Count());
        Assert.Empty(regions.Keys.Except(blocks.Select(b => b.Name!)));
    }

    [Fact]
    public async Task ReadmeSdkSnippet_RunsAgainstALocalSilo()
    {
        // A host configured, as an application's would be, to reach this test cluster's silo.
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            [$"{GrantClientOptions.SectionName}:GatewayPort"] = fixture.Cluster.Options.BaseGatewayPort.ToString(System.Globalization.CultureInfo.InvariantCulture),
            [$"{GrantClientOptions.SectionName}:ClusterId"] = fixture.Cluster.Options.ClusterId,
            [$"{GrantClientOptions.SectionName}:ServiceId"] = fixture.Cluster.Options.ServiceId,
        });
        // The callers' tokens, as the reader's identity provider and SPIFFE runtime would give them.
        var operatorToken = TestIdentity.Shared.Service("service:ops-console", "operator");
        var orchestratorToken = TestIdentity.Shared.Service("service:release-bot", "orchestrator");
        var plannerSvid = TestIdentity.Shared.Agent("spiffe://acme.dev/agent/planner");
        var gatewayToken = TestIdentity.Shared.Service("service:mcp-gateway", "gateway");

        #region snippet: readme-sdk
        // Every call proves its caller with a token (ICallerTokenSource: an OIDC token for a person or a service,
        // a JWT-SVID for an agent; RefreshingCallerToken keeps one fresh). The host's own identity goes in DI;
        // As(...) gives a client calling as someone else over the same connection.
        builder.Services.AddSingleton<ICallerTokenSource>(operatorToken);
        builder.AddGrantSiloLocalClient();                 // an Orleans client to a local silo + IGrantClient (and GrantClient) in DI
        using var app = builder.Build();
        await app.StartAsync();
        var grants = app.Services.GetRequiredService<IGrantClient>();   // calls as the operator

        // Operator: register each agent once, with its owner and the most it may ever be granted (its ceiling).
        var planner = (await grants.RegisterAgentAsync("spiffe://acme.dev/agent/planner", new AgentRegistration {
            Owner = "person:alice@acme.dev",
            Ceiling = Scope.Create(["repo:read:acme/*"], DataClassification.Confidential, delegationDepth: 1).Value })).Value;
        var reader = (await grants.RegisterAgentAsync("spiffe://acme.dev/agent/reader", new AgentRegistration {
            Owner = "person:alice@acme.dev", Ceiling = Scope.Create(["repo:read:acme/payments/*"]).Value })).Value;

        // Orchestrator (a service with the orchestrator role): a root task for a person; it is recorded as the orchestrator.
        var task = (await grants.As(orchestratorToken).CreateTaskAsync(new CreateTaskRequest {
            Person = "person:alice@acme.dev",
            Agent = planner.WorkloadId,
            Scope = Scope.Create(["repo:read:acme/*"], DataClassification.Confidential, delegationDepth: 1).Value,
            Lifetime = TimeSpan.FromHours(1), CheckpointInterval = TimeSpan.FromMinutes(15),
            Purpose = "release notes (recorded, never evaluated)" })).Value;

        // Agent, with its own SVID: a session and a short-lived credential for its task; delegation proves itself with it.
        var agent = grants.As(plannerSvid);
        var session = (await agent.OpenSessionAsync(new OpenSessionRequest { Agent = planner.WorkloadId })).Value;
        var credential = (await agent.IssueCredentialAsync(session.SessionId, new IssueCredentialRequest { TaskId = task.TaskId })).Value;
        var child = await agent.DelegateAsync(task.TaskId, new DelegationRequest {
            ProofToken = credential.Token, Agent = reader.WorkloadId,
            Scope = Scope.Create(["repo:read:acme/payments/*"]).Value, Lifetime = TimeSpan.FromMinutes(30) });
        if (!child.IsSuccess) Console.WriteLine($"{child.Error.Code}: {child.Error.Message} ({child.Error.Permission})");

        // Gateway (a service with the gateway role): decide each action (passing the request's CancellationToken, if it has one).
        Decision decision = await grants.As(gatewayToken).AuthorizeAsync(credential.Token, "read", new ResourceRef { Type = "repo", Path = "acme/payments/README.md" });
        #endregion

        Assert.True(child.IsSuccess, child.Error?.ToString());
        Assert.Equal("service:release-bot", task.Orchestrator);
        Assert.Equal(reader.WorkloadId, child.Value.Agent);
        Assert.Equal(DecisionKind.Allow, decision.Kind);
        Assert.Same(app.Services.GetRequiredService<GrantClient>(), grants);
        await app.StopAsync();
    }

    [Fact]
    public async Task IdentityDevelopmentCallersSnippet_CallsAsTheCallersItMints()
    {
        IGrantClient grants = fixture.Client.Anonymous;
        var keyFile = fixture.DevelopmentKeyFile;
        var agentId = $"spiffe://acme.dev/{Guid.NewGuid():N}/planner";

        #region snippet: identity-development-callers
        using var callers = DevelopmentCallers.Load(keyFile);   // the development issuer's key file (null: the silo's default)
        var operatorClient = grants.As(callers.Person("ops@acme.dev", "operator"));
        var planner = grants.As(callers.Agent("spiffe://acme.dev/agent/planner"));
        #endregion

        var registered = await operatorClient.RegisterAgentAsync(agentId, new AgentRegistration { Owner = "person:alice@acme.dev", Ceiling = Scenario.Scope(0, "repo:read:acme/*") });
        Assert.True(registered.IsSuccess, registered.Error?.ToString());
        // The planner's development SVID is the planner, not an operator.
        Assert.Equal(GrantErrorCode.Forbidden, (await planner.RegisterAgentAsync(agentId + "-2", new AgentRegistration { Owner = "person:alice@acme.dev", Ceiling = Scenario.Scope(0, "repo:read:acme/*") })).Error?.Code);
        var own = await grants.As(callers.Agent(agentId)).OpenSessionAsync(new OpenSessionRequest { Agent = agentId });
        Assert.True(own.IsSuccess, own.Error?.ToString());
    }

    [Fact]
    public async Task PoliciesTemplateLinkSnippet_PutsThePersonsAgentsBehindApproval()
    {
        // The snippet's client calls as the policy author it names.
        IGrantClient grants = fixture.Client.AsPerson("person:security@acme.dev", "policy-author");
        var s = new Scenario(() => fixture.Client);
        var scope = Scenario.Scope(0, "doc:read:*");
        var agent = await s.AgentAsync("alice-worker", scope);
        var task = (await fixture.Client.CreateTaskAsync(new CreateTaskRequest
        {
            Person = "person:alice@acme.dev",
            Agent = agent,
            Scope = scope,
            Lifetime = TimeSpan.FromHours(1),
        })).Value;
        var (_, credential) = await s.CredentialAsync(agent, task.TaskId);
        Assert.True((await s.AuthorizeAsync(credential, "read", "doc", "a")).IsAllowed);

        try
        {
            #region snippet: policies-template-link
            await grants.LinkPolicyTemplateAsync(new PolicyLink
            {
                LinkId = "alice-requires-approval",
                TemplateId = "person-requires-approval",
                PrincipalType = "Person",
                PrincipalId = "person:alice@acme.dev",
            }, "person:security@acme.dev");
            #endregion

            Assert.Contains((await grants.GetActivePolicyAsync()).Value.Info.Links, l => l.LinkId == "alice-requires-approval");
            Assert.Equal(DecisionKind.StepUpRequired, (await s.AuthorizeAsync(credential, "read", "doc", "a")).Kind);
        }
        finally
        {
            Assert.True((await grants.UnlinkPolicyTemplateAsync("alice-requires-approval", "person:security@acme.dev")).IsSuccess);
        }
        Assert.True((await s.AuthorizeAsync(credential, "read", "doc", "a")).IsAllowed);
    }

    [Fact]
    public async Task TokensSdkPresentationSnippet_AllowsABoundTokenWithItsProof_ForItsResource()
    {
        // The snippet's client calls as a gateway; the agent's credential is bound to its key and issued for the gateway's resource.
        IGrantClient grants = fixture.Client.AsService("service:api-gateway", "gateway");
        var s = new Scenario(() => fixture.Client);
        var scope = Scenario.Scope(0, "doc:write:*");
        var agent = await s.AgentAsync("orders-writer", scope);
        var task = (await fixture.Client.CreateTaskAsync(new CreateTaskRequest { Person = "person:alice@acme.dev", Agent = agent, Scope = scope, Lifetime = TimeSpan.FromHours(1) })).Value;
        var session = (await fixture.Client.OpenSessionAsync(new OpenSessionRequest { Agent = agent })).Value;
        using var agentKey = System.Security.Cryptography.ECDsa.Create(System.Security.Cryptography.ECCurve.NamedCurves.nistP256);
        var token = (await fixture.Client.IssueCredentialAsync(session.SessionId, new IssueCredentialRequest
        {
            TaskId = task.TaskId,
            Resource = "https://api.example.com",
            DpopKeyThumbprint = DpopProofs.Thumbprint(agentKey),
        })).Value.Token;
        var proofHeader = DpopProofs.Make(agentKey, "POST", "https://api.example.com/orders", token, DateTimeOffset.UtcNow);
        var resource = new ResourceRef { Type = "doc", Path = "orders/1" };

        #region snippet: tokens-sdk-presentation
        // A gateway that received a bound token and its proof on POST https://api.example.com/orders:
        var presented = new TokenPresentation
        {
            DpopProof = proofHeader,                 // the request's DPoP header, as received
            Method = "POST",
            Url = "https://api.example.com/orders",  // the request's URL (a query is ignored)
            Audience = "https://api.example.com",    // the resource this gateway serves
        };
        var decision = await grants.AuthorizeAsync(token, "write", resource, presented);
        #endregion

        Assert.True(decision.IsAllowed, decision.ToString());
        // The same proof again is a replay; the token without it, or at another resource, is denied.
        Assert.Equal(DecisionReason.DpopProofInvalid, (await grants.AuthorizeAsync(token, "write", resource, presented)).Reason);
        Assert.Equal(DecisionReason.AudienceMismatch, (await grants.AuthorizeAsync(token, "write", resource)).Reason);
    }

    /// <summary>One silo on the embedded default with TCP gateways (the shared fixture's are in memory).</summary>
    public sealed class DocsClusterFixture : IAsyncLifetime
    {
        public TestCluster Cluster { get; private set; } = null!;

        /// <summary>The harness's client: each call made by the caller the access rules expect.</summary>
        public ActingGrantClient Client { get; private set; } = null!;

        /// <summary>Where this cluster's development issuer writes its key.</summary>
        public string DevelopmentKeyFile { get; } = Path.Combine(Path.GetTempPath(), "grantsilo-tests", Guid.NewGuid().ToString("N"), "dev-issuer.jwk");

        public async Task InitializeAsync()
        {
            var builder = new TestClusterBuilder(1);
            builder.Options.ConnectionTransport = ConnectionTransportType.TcpSocket;
            foreach (var (key, value) in TestIdentity.Shared.SiloConfiguration())
            {
                builder.Properties[key] = value!;
            }
            // The development issuer too, as on the embedded default in Development, with its key where the snippet reads it.
            builder.Properties["GrantSilo:Identity:Development:Enabled"] = "true";
            builder.Properties["GrantSilo:Identity:Development:AllowOutsideDevelopment"] = "true";
            builder.Properties["GrantSilo:Identity:Development:KeyFile"] = DevelopmentKeyFile;
            builder.AddSiloBuilderConfigurator<SiloConfigurator>();
            Cluster = builder.Build();
            await Cluster.DeployAsync();
            Client = new ActingGrantClient(new GrantClient(Cluster.Client), TestIdentity.Shared);
            await TestCatalogs.PublishPermissiveAsync(Client);
        }

        public async Task DisposeAsync()
        {
            await Cluster.StopAllSilosAsync();
            await Cluster.DisposeAsync();
        }

        private sealed class SiloConfigurator : ISiloConfigurator
        {
            public void Configure(ISiloBuilder silo)
            {
                silo.AddMemoryGrainStorage(GrantSiloStorage.Name);
                silo.UseInMemoryReminderService();
                silo.AddGrantSilo();
            }
        }
    }

    private sealed record Block(string Where, string? Name, string Code);

    private static IEnumerable<Block> CSharpBlocks(string root, string path)
    {
        var lines = File.ReadAllLines(path);
        for (var i = 0; i < lines.Length; i++)
        {
            var fence = lines[i].Trim();
            if (!fence.StartsWith("```", StringComparison.Ordinal) || fence.Length == 3 || fence[3..].Trim() is not ("csharp" or "cs" or "c#" or "C#"))
            {
                continue;
            }
            var previous = lines.Take(i).LastOrDefault(l => l.Trim().Length > 0)?.Trim() ?? "";
            var name = SnippetMarker().Match(previous) is { Success: true } marker ? marker.Groups["name"].Value : null;
            var start = i + 1;
            var end = start;
            while (end < lines.Length && lines[end].Trim() != "```")
            {
                end++;
            }
            yield return new Block($"{Path.GetRelativePath(root, path)}:{i + 1}", name, string.Join('\n', lines[start..end]));
            i = end;
        }
    }

    private static Dictionary<string, string> Regions(string source) =>
        SnippetRegion().Matches(source).ToDictionary(m => m.Groups["name"].Value, m => m.Groups["code"].Value);

    private static string Normalize(string code) => WhiteSpace().Replace(code, " ").Trim();

    private static string RepositoryRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "GrantSilo.sln")))
            {
                return directory.FullName;
            }
        }
        throw new InvalidOperationException($"No GrantSilo.sln above {AppContext.BaseDirectory}: run the tests from the repository's build output.");
    }

    [GeneratedRegex(@"^<!--\s*snippet:\s*(?<name>[\w-]+)\s*-->$")]
    private static partial Regex SnippetMarker();

    [GeneratedRegex(@"^[ \t]*#region snippet: (?<name>[\w-]+)[^\n]*\n(?<code>.*?)^[ \t]*#endregion", RegexOptions.Singleline | RegexOptions.Multiline)]
    private static partial Regex SnippetRegion();

    [GeneratedRegex(@"\s+")]
    private static partial Regex WhiteSpace();
}
