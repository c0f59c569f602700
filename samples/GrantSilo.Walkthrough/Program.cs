using GrantSilo.Hosting;
// A walkthrough of GrantSilo against a silo running in Development (start it with scripts/demo.sh, or:
// DOTNET_ENVIRONMENT=Development dotnet run --project silo-host). Every call proves who makes it with a token of
// the silo's development issuer, minted here from its key file: an operator publishes the resource catalog and
// registers the agents; an orchestrator creates a task for Alice; the planner agent delegates to two workers with
// its own credential; a gateway asks for decisions; a worker is allowed in scope and denied out of scope; a wider
// delegation is rejected; a worker posing as the planner and a call without a token are refused; a checkpoint
// pauses work until Alice re-authorizes; Alice revokes the root and everything below it ends.
using GrantSilo;
using GrantSilo.Client;
using GrantSilo.Identity;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

var builder = Host.CreateApplicationBuilder(args);
builder.Logging.SetMinimumLevel(LogLevel.Warning);
builder.AddGrantSiloLocalClient();
using var host = builder.Build();

// The development issuer's key file: where the silo wrote it (GrantSilo:Identity:Development:KeyFile, the same
// setting and default as the silo's). Whoever can read it can be any caller: development only.
var keyFile = builder.Configuration["GrantSilo:Identity:Development:KeyFile"] ?? DevelopmentIssuerOptions.DefaultKeyFile;
if (!File.Exists(keyFile))
{
    Console.Error.WriteLine($"No development key file at {keyFile}: start the silo in Development first (scripts/demo.sh, or DOTNET_ENVIRONMENT=Development dotnet run --project silo-host).");
    return 2;
}
using var tokens = DevelopmentTokens.Load(keyFile);
await host.StartAsync();
var connection = host.Services.GetRequiredService<GrantClient>();

// One client per caller over the one connection; each mints its token when the last one is about to expire.
GrantClient As(Func<string> mint, TimeSpan lifetime) =>
    connection.As(new RefreshingCallerToken(_ => ValueTask.FromResult((mint(), DateTimeOffset.UtcNow + lifetime))));
GrantClient Agent(string spiffeId) => As(() => tokens.ForAgent(spiffeId), tokens.DefaultAgentLifetime);
var operations = As(() => tokens.ForPerson("operator@acme.dev", "operator"), tokens.DefaultLifetime);
var orchestrator = As(() => tokens.ForService("release-bot", "orchestrator"), tokens.DefaultLifetime);
var gateway = As(() => tokens.ForService("api-gateway", "gateway"), tokens.DefaultLifetime);
var alice = As(() => tokens.ForPerson("alice@acme.dev"), tokens.DefaultLifetime);
var refusedAsExpected = true;

var run = Guid.NewGuid().ToString("N")[..6];
string Id(string name) => $"spiffe://acme.dev/{run}/agent/{name}";
static Scope ScopeOf(int depth, params string[] permissions) => Scope.Create(permissions, DataClassification.Confidential, depth).Value;
static void Step(string text, string caller) => Console.WriteLine($"\n== {text}\n   [calling as {caller}]");
static void Show(string what, Decision d) => Console.WriteLine($"   {what}: {d.Kind} ({d.Reason}){(d.IsAllowed ? "" : " - " + d.Detail)}");

Step("The operator publishes the resource catalog: resource labels come from it, not from whoever asks", "person:operator@acme.dev, role operator");
var catalog = (await operations.PublishResourceCatalogAsync("""
    { "entries": [
      { "type": "repo",   "path": "acme/*",          "classification": "internal" },
      { "type": "repo",   "path": "acme/payments/*", "classification": "confidential", "owner": "person:alice@acme.dev" },
      { "type": "repo",   "path": "acme/hr/*",       "classification": "restricted" },
      { "type": "ticket", "path": "acme/*",          "classification": "internal" }
    ] }
    """, "person:operator@acme.dev")).Value;
Console.WriteLine($"   catalog version {catalog.Version}, {catalog.EntryCount} entries (a resource it does not know is treated as restricted, in production)");

Step("The operator registers a planner and two workers, each with a ceiling scope", "person:operator@acme.dev, role operator");
var planner = Id("planner");
var reader = Id("repo-reader");
var triager = Id("ticket-triager");
_ = (await operations.RegisterAgentAsync(planner, new AgentRegistration { Owner = "person:alice@acme.dev", Ceiling = ScopeOf(2, "repo:*:acme/*", "ticket:*:acme/*") })).Value;
_ = (await operations.RegisterAgentAsync(reader, new AgentRegistration { Owner = "person:alice@acme.dev", Ceiling = ScopeOf(0, "repo:read:acme/*") })).Value;
_ = (await operations.RegisterAgentAsync(triager, new AgentRegistration { Owner = "person:alice@acme.dev", Ceiling = ScopeOf(0, "ticket:read:acme/*", "ticket:comment:acme/*") })).Value;
Console.WriteLine($"   {planner}\n   {reader}\n   {triager}");

Step("The orchestrator creates a root task for Alice, assigned to the planner (checkpoint every 3 s)", "service:release-bot, role orchestrator");
var root = (await orchestrator.CreateTaskAsync(new CreateTaskRequest
{
    Person = "person:alice@acme.dev",
    Agent = planner,
    Scope = ScopeOf(2, "repo:read:acme/*", "ticket:*:acme/*"),
    Lifetime = TimeSpan.FromMinutes(30),
    CheckpointInterval = TimeSpan.FromSeconds(3),
    Purpose = "Prepare the release notes for payments v2 (recorded, never evaluated)",
})).Value;
Console.WriteLine($"   task {root.TaskId} for {root.RootPerson}, orchestrator {root.Orchestrator}, expires {root.ExpiresAt:HH:mm:ss}");

Step("The planner opens its session, gets a credential, and delegates to both workers with it", $"{planner} (its JWT-SVID)");
var asPlanner = Agent(planner);
var plannerSession = (await asPlanner.OpenSessionAsync(new OpenSessionRequest { Agent = planner })).Value;
var plannerCredential = (await asPlanner.IssueCredentialAsync(plannerSession.SessionId, new IssueCredentialRequest { TaskId = root.TaskId })).Value;
var readTask = (await asPlanner.DelegateAsync(root.TaskId, new DelegationRequest { ProofToken = plannerCredential.Token, Agent = reader, Scope = ScopeOf(0, "repo:read:acme/payments/*"), Lifetime = TimeSpan.FromMinutes(20), Purpose = "Read the payments repo" })).Value;
var ticketTask = (await asPlanner.DelegateAsync(root.TaskId, new DelegationRequest { ProofToken = plannerCredential.Token, Agent = triager, Scope = ScopeOf(0, "ticket:read:acme/payments/*"), Lifetime = TimeSpan.FromMinutes(20), Purpose = "Collect the fixed tickets" })).Value;
Console.WriteLine($"   {readTask.TaskId} -> repo-reader  ({readTask.Scope})\n   {ticketTask.TaskId} -> ticket-triager ({ticketTask.Scope})");

Step("The repo reader opens its own session and gets a credential", $"{reader} (its JWT-SVID)");
var asReader = Agent(reader);
var readerSession = (await asReader.OpenSessionAsync(new OpenSessionRequest { Agent = reader })).Value;
var readerCredential = (await asReader.IssueCredentialAsync(readerSession.SessionId, new IssueCredentialRequest { TaskId = readTask.TaskId, Lifetime = TimeSpan.FromMinutes(5) })).Value;
Console.WriteLine($"   credential {readerCredential.CredentialId} (token never printed), expires {readerCredential.ExpiresAt:HH:mm:ss}");

Step("The gateway asks for decisions on the reader's credential: allowed in scope, denied out of scope", "service:api-gateway, role gateway");
Show("read  repo acme/payments/CHANGELOG.md", await gateway.AuthorizeAsync(readerCredential.Token, "read", new ResourceRef { Type = "repo", Path = "acme/payments/CHANGELOG.md" }));
Show("write repo acme/payments/CHANGELOG.md", await gateway.AuthorizeAsync(readerCredential.Token, "write", new ResourceRef { Type = "repo", Path = "acme/payments/CHANGELOG.md" }));
Show("read  repo acme/hr/salaries.csv      ", await gateway.AuthorizeAsync(readerCredential.Token, "read", new ResourceRef { Type = "repo", Path = "acme/hr/salaries.csv" }));

Step("A delegation wider than the planner holds is rejected, naming the permission (never trimmed)", $"{planner} (its JWT-SVID)");
var wider = await asPlanner.DelegateAsync(root.TaskId, new DelegationRequest { ProofToken = plannerCredential.Token, Agent = reader, Scope = ScopeOf(0, "repo:write:acme/payments/*"), Lifetime = TimeSpan.FromMinutes(10) });
Console.WriteLine($"   {wider.Error}");

Step("The repo reader tries to open a session as the planner: its SVID names the reader, so it is refused", $"{reader} (its JWT-SVID)");
var posing = await asReader.OpenSessionAsync(new OpenSessionRequest { Agent = planner });
Console.WriteLine($"   {(posing.IsSuccess ? "opened (it should not have been!)" : posing.Error.Code.ToString())}");
refusedAsExpected &= posing.Error?.Code == GrantErrorCode.Forbidden;

Step("A call with no token at all is refused before anything runs", "nobody (no token)");
var anonymous = await connection.GetTaskAsync(root.TaskId);
Console.WriteLine($"   {(anonymous.IsSuccess ? "answered (it should not have been!)" : anonymous.Error.Code.ToString())}");
refusedAsExpected &= anonymous.Error?.Code == GrantErrorCode.Unauthenticated;

Step("The checkpoint elapses: work pauses until Alice, the task's person, re-authorizes it", "person:alice@acme.dev (and the gateway for the decisions)");
await Task.Delay(TimeSpan.FromSeconds(3.2));
Show("read after the checkpoint", await gateway.AuthorizeAsync(readerCredential.Token, "read", new ResourceRef { Type = "repo", Path = "acme/payments/README.md" }));
var reauthorized = await alice.ReauthorizeTaskAsync(root.TaskId);
Console.WriteLine($"   re-authorized: {reauthorized.IsSuccess}, next checkpoint {reauthorized.Value.CheckpointDueAt:HH:mm:ss}");
Show("read after re-authorization", await gateway.AuthorizeAsync(readerCredential.Token, "read", new ResourceRef { Type = "repo", Path = "acme/payments/README.md" }));

Step("Alice revokes the root task: everything below it ends", "person:alice@acme.dev (and the gateway for the decision)");
_ = (await alice.RevokeTaskAsync(root.TaskId, "Alice cancelled the release")).Value;
Show("read after revocation", await gateway.AuthorizeAsync(readerCredential.Token, "read", new ResourceRef { Type = "repo", Path = "acme/payments/README.md" }));
var deadline = DateTime.UtcNow.AddSeconds(10);
TaskTreeNode tree;
do
{
    tree = (await alice.GetTaskTreeAsync(root.TaskId)).Value;
}
while (tree.DescendantsAndSelf().Any(n => !n.Task.IsTerminal || n.Task.PendingCascade > 0) && DateTime.UtcNow < deadline && await Delay());

Step("The final task tree", "person:alice@acme.dev");
Print(tree, "");

await host.StopAsync();
return tree.DescendantsAndSelf().All(n => n.Task.IsTerminal) && refusedAsExpected ? 0 : 1;

static async Task<bool> Delay()
{
    await Task.Delay(50);
    return true;
}

static void Print(TaskTreeNode node, string indent)
{
    var t = node.Task;
    Console.WriteLine($"{indent}{t.TaskId}  agent={t.Agent}  status={t.Status}  reason=\"{t.StatusReason}\"  scope={t.Scope}");
    foreach (var child in node.Children)
    {
        Print(child, indent + "   ");
    }
}
