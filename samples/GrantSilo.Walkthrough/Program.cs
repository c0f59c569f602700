using GrantSilo.Hosting;
// A walkthrough of GrantSilo against a running silo (start it with: dotnet run --project silo-host).
// An operator publishes the resource catalog; an orchestrator creates a task for Alice; a planner agent delegates to two workers; a worker is
// allowed in scope and denied out of scope; a wider delegation is rejected; a checkpoint pauses
// work until re-authorized; revoking the root ends everything below it.
using GrantSilo;
using GrantSilo.Client;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

var builder = Host.CreateApplicationBuilder(args);
builder.Logging.SetMinimumLevel(LogLevel.Warning);
builder.AddGrantSiloLocalClient();
using var host = builder.Build();
await host.StartAsync();
var grants = host.Services.GetRequiredService<GrantClient>();

var run = Guid.NewGuid().ToString("N")[..6];
string Id(string name) => $"spiffe://acme.dev/{run}/agent/{name}";
static Scope ScopeOf(int depth, params string[] permissions) => Scope.Create(permissions, DataClassification.Confidential, depth).Value;
static void Step(string text) => Console.WriteLine($"\n== {text}");
static void Show(string what, Decision d) => Console.WriteLine($"   {what}: {d.Kind} ({d.Reason}){(d.IsAllowed ? "" : " - " + d.Detail)}");

Step("The operator publishes the resource catalog: resource labels come from it, not from whoever asks");
var catalog = (await grants.PublishResourceCatalogAsync("""
    { "entries": [
      { "type": "repo",   "path": "acme/*",          "classification": "internal" },
      { "type": "repo",   "path": "acme/payments/*", "classification": "confidential", "owner": "person:alice@acme.dev" },
      { "type": "repo",   "path": "acme/hr/*",       "classification": "restricted" },
      { "type": "ticket", "path": "acme/*",          "classification": "internal" }
    ] }
    """, "person:operator@acme.dev")).Value;
Console.WriteLine($"   catalog version {catalog.Version}, {catalog.EntryCount} entries (a resource it does not know is treated as restricted, in production)");

Step("Register a planner and two workers, each with a ceiling scope");
var planner = Id("planner");
var reader = Id("repo-reader");
var triager = Id("ticket-triager");
_ = (await grants.RegisterAgentAsync(planner, new AgentRegistration { Owner = "person:alice@acme.dev", Ceiling = ScopeOf(2, "repo:*:acme/*", "ticket:*:acme/*") })).Value;
_ = (await grants.RegisterAgentAsync(reader, new AgentRegistration { Owner = "person:alice@acme.dev", Ceiling = ScopeOf(0, "repo:read:acme/*") })).Value;
_ = (await grants.RegisterAgentAsync(triager, new AgentRegistration { Owner = "person:alice@acme.dev", Ceiling = ScopeOf(0, "ticket:read:acme/*", "ticket:comment:acme/*") })).Value;
Console.WriteLine($"   {planner}\n   {reader}\n   {triager}");

Step("The orchestrator creates a root task for Alice, assigned to the planner (checkpoint every 3 s)");
var root = (await grants.CreateTaskAsync(new CreateTaskRequest
{
    Person = "person:alice@acme.dev",
    Orchestrator = "orchestrator:release-bot",
    Agent = planner,
    Scope = ScopeOf(2, "repo:read:acme/*", "ticket:*:acme/*"),
    Lifetime = TimeSpan.FromMinutes(30),
    CheckpointInterval = TimeSpan.FromSeconds(3),
    Purpose = "Prepare the release notes for payments v2 (recorded, never evaluated)",
})).Value;
Console.WriteLine($"   task {root.TaskId} for {root.RootPerson}, expires {root.ExpiresAt:HH:mm:ss}");

Step("The planner opens a session, gets a credential, and delegates to both workers");
var plannerSession = (await grants.OpenSessionAsync(new OpenSessionRequest { Agent = planner })).Value;
var plannerCredential = (await grants.IssueCredentialAsync(plannerSession.SessionId, new IssueCredentialRequest { TaskId = root.TaskId })).Value;
var readTask = (await grants.DelegateAsync(root.TaskId, new DelegationRequest { ProofToken = plannerCredential.Token, Agent = reader, Scope = ScopeOf(0, "repo:read:acme/payments/*"), Lifetime = TimeSpan.FromMinutes(20), Purpose = "Read the payments repo" })).Value;
var ticketTask = (await grants.DelegateAsync(root.TaskId, new DelegationRequest { ProofToken = plannerCredential.Token, Agent = triager, Scope = ScopeOf(0, "ticket:read:acme/payments/*"), Lifetime = TimeSpan.FromMinutes(20), Purpose = "Collect the fixed tickets" })).Value;
Console.WriteLine($"   {readTask.TaskId} -> repo-reader  ({readTask.Scope})\n   {ticketTask.TaskId} -> ticket-triager ({ticketTask.Scope})");

Step("The repo reader works: allowed in scope, denied out of scope");
var readerSession = (await grants.OpenSessionAsync(new OpenSessionRequest { Agent = reader })).Value;
var readerCredential = (await grants.IssueCredentialAsync(readerSession.SessionId, new IssueCredentialRequest { TaskId = readTask.TaskId, Lifetime = TimeSpan.FromMinutes(5) })).Value;
Console.WriteLine($"   credential {readerCredential.CredentialId} (token never printed), expires {readerCredential.ExpiresAt:HH:mm:ss}");
Show("read  repo acme/payments/CHANGELOG.md", await grants.AuthorizeAsync(readerCredential.Token, "read", new ResourceRef { Type = "repo", Path = "acme/payments/CHANGELOG.md" }));
Show("write repo acme/payments/CHANGELOG.md", await grants.AuthorizeAsync(readerCredential.Token, "write", new ResourceRef { Type = "repo", Path = "acme/payments/CHANGELOG.md" }));
Show("read  repo acme/hr/salaries.csv      ", await grants.AuthorizeAsync(readerCredential.Token, "read", new ResourceRef { Type = "repo", Path = "acme/hr/salaries.csv" }));

Step("A delegation wider than the planner holds is rejected, naming the permission (never trimmed)");
var wider = await grants.DelegateAsync(root.TaskId, new DelegationRequest { ProofToken = plannerCredential.Token, Agent = reader, Scope = ScopeOf(0, "repo:write:acme/payments/*"), Lifetime = TimeSpan.FromMinutes(10) });
Console.WriteLine($"   {wider.Error}");

Step("The checkpoint elapses: work pauses until someone re-authorizes the task");
await Task.Delay(TimeSpan.FromSeconds(3.2));
Show("read after the checkpoint", await grants.AuthorizeAsync(readerCredential.Token, "read", new ResourceRef { Type = "repo", Path = "acme/payments/README.md" }));
var reauthorized = await grants.ReauthorizeTaskAsync(root.TaskId);
Console.WriteLine($"   re-authorized: {reauthorized.IsSuccess}, next checkpoint {reauthorized.Value.CheckpointDueAt:HH:mm:ss}");
Show("read after re-authorization", await grants.AuthorizeAsync(readerCredential.Token, "read", new ResourceRef { Type = "repo", Path = "acme/payments/README.md" }));

Step("Alice revokes the root task: everything below it ends");
await grants.RevokeTaskAsync(root.TaskId, "Alice cancelled the release");
Show("read after revocation", await grants.AuthorizeAsync(readerCredential.Token, "read", new ResourceRef { Type = "repo", Path = "acme/payments/README.md" }));
var deadline = DateTime.UtcNow.AddSeconds(10);
TaskTreeNode tree;
do
{
    tree = (await grants.GetTaskTreeAsync(root.TaskId)).Value;
}
while (tree.DescendantsAndSelf().Any(n => !n.Task.IsTerminal || n.Task.PendingCascade > 0) && DateTime.UtcNow < deadline && await Delay());

Step("The final task tree");
Print(tree, "");

await host.StopAsync();
return tree.DescendantsAndSelf().All(n => n.Task.IsTerminal) ? 0 : 1;

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
