using System.CommandLine;
using System.Net.ServerSentEvents;
using System.Text.Json.Nodes;
using GrantSilo.Grantctl;
using GrantSilo.Identity;

// grantctl: GrantSilo from a terminal, over its HTTP API. docs/grantctl.md has every command and the exit codes.
var url = new Option<string?>("--url") { Description = $"GrantSilo's HTTP API (default: GRANTCTL_URL, the saved login, or {Settings.DefaultUrl})", Recursive = true };
var json = new Option<bool>("--json") { Description = "Print the API's JSON instead of a table", Recursive = true };
var root = new RootCommand("grantctl: GrantSilo's access-control plane for AI agents, from a terminal.") { url, json };

// ---- login ----
var loginToken = new Option<string?>("--token-file") { Description = "A file holding your bearer token (an OIDC token, or a JWT-SVID); '-' reads standard input" };
var development = new Option<bool>("--development") { Description = "Mint a token with the development issuer of a silo on this machine (Development only)" };
var developmentAs = new Option<string>("--as") { Description = "With --development: who you are (person:<name> or service:<name>)", DefaultValueFactory = _ => "person:developer" };
var developmentRoles = new Option<string[]>("--roles") { Description = "With --development: your roles (operator, approver, auditor, policy-author, gateway, orchestrator)", AllowMultipleArgumentsPerToken = true };
var keyFile = new Option<string?>("--key-file") { Description = "With --development: the issuer's key file (default: the silo's default location)" };
var login = new Command("login", "Save the API's address and your token (owner-readable only) for the commands that follow")
{
    loginToken, development, developmentAs, developmentRoles, keyFile,
};
login.SetAction(async (parse, cancellationToken) => await RunAsync(parse, async (_, output) =>
{
    string token;
    if (parse.GetValue(development))
    {
        using var tokens = DevelopmentTokens.Load(parse.GetValue(keyFile));
        var who = parse.GetValue(developmentAs)!;
        var roles = parse.GetValue(developmentRoles) ?? [];
        token = who.StartsWith("service:", StringComparison.Ordinal) ? tokens.ForService(who["service:".Length..], roles) : tokens.ForPerson(who.StartsWith("person:", StringComparison.Ordinal) ? who["person:".Length..] : who, roles);
    }
    else if (parse.GetValue(loginToken) is { } file)
    {
        token = (file == "-" ? await Console.In.ReadToEndAsync(cancellationToken) : await File.ReadAllTextAsync(file, cancellationToken)).Trim();
    }
    else
    {
        throw new GrantctlException(ExitCodes.Usage, "Give --token-file FILE (or -) or --development.");
    }
    var settings = new Settings(parse.GetValue(url) ?? Settings.Load().Url ?? Settings.DefaultUrl, token);
    // The token is checked before it is saved: health needs none, so ask for something every caller may be refused.
    using (var api = new Api(new Uri(settings.Url!), token))
    {
        await api.GetAsync("/health/ready", cancellationToken);
    }
    settings.Save();
    output.Line($"Logged in to {settings.Url}; saved in {Settings.File}.");
    return ExitCodes.Ok;
}, needsToken: false, cancellationToken));
root.Subcommands.Add(login);

// ---- agents ----
var agentId = new Argument<string>("workload-id") { Description = "The agent's workload id (its SPIFFE ID)" };
var reason = new Option<string>("--reason") { Description = "Why (recorded and shown; never decides anything)", Required = true };
var agents = new Command("agents", "Agents: show, suspend, resume, retire");
agents.Subcommands.Add(Leaf("get", "Show an agent", [agentId], [], (parse, api, output, ct) => ShowAsync(api.GetAsync($"/v1/agents/{Segment(parse.GetValue(agentId)!)}", ct), output, ShowAgent)));
foreach (var (verb, text) in new[] { ("suspend", "Suspend an agent: its sessions, tasks and credentials end"), ("resume", "Let a suspended agent act again"), ("retire", "Retire an agent for good") })
{
    agents.Subcommands.Add(Leaf(verb, text, [agentId], [reason], (parse, api, output, ct) =>
        ShowAsync(api.PostAsync($"/v1/agents/{Segment(parse.GetValue(agentId)!)}/{verb}", new { reason = parse.GetValue(reason) }, ct), output, ShowAgent)));
}
agents.Subcommands.Add(Leaf("tasks", "List an agent's live tasks", [agentId], [], (parse, api, output, ct) =>
    ListAsync(api.GetAsync($"/v1/agents/{Segment(parse.GetValue(agentId)!)}/tasks", ct), output, page => page["items"]!.AsArray(), Tasks)));
root.Subcommands.Add(agents);

// ---- tasks ----
var taskId = new Argument<string>("task-id") { Description = "The task's id" };
var summary = new Option<string?>("--summary") { Description = "What was done" };
var tasks = new Command("tasks", "Tasks: list, get, tree, revoke, complete, reauthorize");
var ofAgent = new Option<string>("--agent") { Description = "The agent whose live tasks to list", Required = true };
tasks.Subcommands.Add(Leaf("list", "List an agent's live tasks", [], [ofAgent], (parse, api, output, ct) =>
    ListAsync(api.GetAsync($"/v1/agents/{Segment(parse.GetValue(ofAgent)!)}/tasks", ct), output, page => page["items"]!.AsArray(), Tasks)));
tasks.Subcommands.Add(Leaf("get", "Show a task", [taskId], [], (parse, api, output, ct) => ShowAsync(api.GetAsync($"/v1/tasks/{Segment(parse.GetValue(taskId)!)}", ct), output, ShowTask)));
tasks.Subcommands.Add(Leaf("tree", "Draw a task and everything delegated below it", [taskId], [], async (parse, api, output, ct) =>
{
    var tree = await api.GetAsync($"/v1/tasks/{Segment(parse.GetValue(taskId)!)}/tree", ct);
    output.Write(tree, () => output.Tree(tree));
    return ExitCodes.Ok;
}));
tasks.Subcommands.Add(Leaf("revoke", "Revoke a task and everything below it", [taskId], [reason], (parse, api, output, ct) =>
    ShowAsync(api.PostAsync($"/v1/tasks/{Segment(parse.GetValue(taskId)!)}/revoke", new { reason = parse.GetValue(reason) }, ct), output, ShowTask)));
tasks.Subcommands.Add(Leaf("complete", "Complete a task; everything below it ends", [taskId], [summary], (parse, api, output, ct) =>
    ShowAsync(api.PostAsync($"/v1/tasks/{Segment(parse.GetValue(taskId)!)}/complete", new { summary = parse.GetValue(summary) }, ct), output, ShowTask)));
tasks.Subcommands.Add(Leaf("reauthorize", "Re-authorize a task waiting at its checkpoint", [taskId], [], (parse, api, output, ct) =>
    ShowAsync(api.PostAsync($"/v1/tasks/{Segment(parse.GetValue(taskId)!)}/reauthorize", null, ct), output, ShowTask)));
root.Subcommands.Add(tasks);

// ---- approvals ----
var approvalId = new Argument<string>("approval-id") { Description = "The approval's id" };
var comment = new Option<string?>("--comment") { Description = "A note for the record" };
var denyReason = new Option<string?>("--reason") { Description = "Why it is denied" };
var approvals = new Command("approvals", "Step-up approvals: list, approve, deny, watch");
approvals.Subcommands.Add(Leaf("list", "List the approvals waiting for a person", [], [], (parse, api, output, ct) =>
    ListAsync(api.GetAsync("/v1/approvals", ct), output, list => list.AsArray(), Approvals)));
approvals.Subcommands.Add(Leaf("approve", "Approve a step-up (as yourself); the agent may retry once", [approvalId], [comment], (parse, api, output, ct) =>
    ShowAsync(api.PostAsync($"/v1/approvals/{Segment(parse.GetValue(approvalId)!)}/approve", new { comment = parse.GetValue(comment) }, ct), output, ShowApproval)));
approvals.Subcommands.Add(Leaf("deny", "Deny a step-up (as yourself)", [approvalId], [denyReason], (parse, api, output, ct) =>
    ShowAsync(api.PostAsync($"/v1/approvals/{Segment(parse.GetValue(approvalId)!)}/deny", new { reason = parse.GetValue(denyReason) }, ct), output, ShowApproval)));
approvals.Subcommands.Add(Leaf("watch", "Stream approvals live: those waiting, then each new request and outcome (Ctrl+C stops)", [], [], async (parse, api, output, ct) =>
{
    using var response = await api.StreamAsync("/v1/approvals/stream", ct);
    await using var body = await response.Content.ReadAsStreamAsync(ct);
    try
    {
        await foreach (var item in SseParser.Create(body).EnumerateAsync(ct))
        {
            var approval = JsonNode.Parse(item.Data)!;
            if (output.Json)
            {
                output.Line(new JsonObject { ["event"] = item.EventType, ["approval"] = approval }.ToJsonString());
            }
            else
            {
                output.Line($"{item.EventType,-9}  {Output.S(approval["approvalId"])}  {Output.S(approval["status"])}  {Output.S(approval["agent"])}  {Output.S(approval["action"])} {Output.S(approval["resource"]?["type"])}:{Output.S(approval["resource"]?["path"])}  for {Output.S(approval["rootPerson"])}");
            }
        }
    }
    catch (OperationCanceledException) when (ct.IsCancellationRequested)
    {
    }
    return ExitCodes.Ok;
}));
root.Subcommands.Add(approvals);

// ---- policy ----
var version = new Option<long?>("--version") { Description = "A version (default: the active one)" };
var policyFile = new Argument<string>("file") { Description = "A Cedar policy file" };
var from = new Argument<long>("from") { Description = "The older version" };
var to = new Argument<long>("to") { Description = "The newer version" };
var policy = new Command("policy", "Cedar policy: show, versions, publish, diff");
policy.Subcommands.Add(Leaf("show", "Print a policy version's text", [], [version], async (parse, api, output, ct) =>
{
    var shown = await api.GetAsync(parse.GetValue(version) is { } v ? $"/v1/policies/versions/{v}" : "/v1/policies/active", ct);
    output.Write(shown, () => output.Line(Output.S(shown["text"]) ?? ""));
    return ExitCodes.Ok;
}));
policy.Subcommands.Add(Leaf("versions", "List every policy version", [], [], (parse, api, output, ct) =>
    ListAsync(api.GetAsync("/v1/policies/versions", ct), output, list => list.AsArray(), Versions)));
policy.Subcommands.Add(Leaf("publish", "Publish a policy file as the next version (in force on every silo when this returns)", [policyFile], [], async (parse, api, output, ct) =>
{
    var text = await File.ReadAllTextAsync(parse.GetValue(policyFile)!, ct);
    var published = await api.PostAsync("/v1/policies", new { text }, ct);
    output.Write(published, () => output.Line($"Published version {Output.S(published["version"])}."));
    return ExitCodes.Ok;
}));
policy.Subcommands.Add(Leaf("diff", "Show what changed between two policy versions", [from, to], [], async (parse, api, output, ct) =>
{
    var older = await api.GetAsync($"/v1/policies/versions/{parse.GetValue(from)}", ct);
    var newer = await api.GetAsync($"/v1/policies/versions/{parse.GetValue(to)}", ct);
    var lines = Diff.Lines(Output.S(older["text"]) ?? "", Output.S(newer["text"]) ?? "");
    output.Write(new JsonArray([.. lines.Select(l => (JsonNode?)JsonValue.Create(l))]), () => lines.ForEach(output.Line));
    return ExitCodes.Ok;
}));
root.Subcommands.Add(policy);

// ---- cascades ----
root.Subcommands.Add(Leaf("cascades", "List cascades that failed a step and are being retried", [], [], (parse, api, output, ct) =>
    ListAsync(api.GetAsync("/v1/cascades/pending", ct), output, list => list.AsArray(),
        ("kind", c => Output.S(c["kind"])), ("id", c => Output.S(c["id"])), ("pending steps", c => Output.S(c["pendingSteps"])), ("since", c => Output.S(c["since"])))));

// ---- authorize ----
var credentialFile = new Option<string>("--credential-file") { Description = "A file holding the agent's GrantSilo credential token (or set GRANTCTL_CREDENTIAL)" };
var action = new Option<string>("--action") { Description = "The action (read, write...)", Required = true };
var resourceType = new Option<string>("--type") { Description = "The resource's type", Required = true };
var resourcePath = new Option<string>("--path") { Description = "The resource's path", Required = true };
var approval = new Option<string?>("--approval") { Description = "An approved step-up to present" };
root.Subcommands.Add(Leaf("authorize", "Try a decision: may the credential's holder do this now? (exit 0 allow, 3 deny or step-up)", [], [credentialFile, action, resourceType, resourcePath, approval], async (parse, api, output, ct) =>
{
    var credential = Environment.GetEnvironmentVariable("GRANTCTL_CREDENTIAL") is { Length: > 0 } fromEnvironment ? fromEnvironment
        : parse.GetValue(credentialFile) is { } file ? (await File.ReadAllTextAsync(file, ct)).Trim()
        : throw new GrantctlException(ExitCodes.Usage, "Give --credential-file FILE or set GRANTCTL_CREDENTIAL (a credential token is never passed on the command line).");
    var decision = await api.PostAsync("/v1/authorize", new { token = credential, action = parse.GetValue(action), resource = new { type = parse.GetValue(resourceType), path = parse.GetValue(resourcePath) }, approvalId = parse.GetValue(approval) }, ct);
    output.Write(decision, () => output.Fields(decision, ("decision", Output.S(decision["kind"])), ("reason", Output.S(decision["reason"])), ("detail", Output.S(decision["detail"])),
        ("approval", Output.S(decision["approvalId"])), ("policy", Output.S(decision["policyVersion"]))));
    return Output.S(decision["kind"]) == "allow" ? ExitCodes.Ok : ExitCodes.NotAllowed;
}));

// ---- audit ----
root.Subcommands.Add(AuditCommands.Create(Leaf, url, json));

var parsed = root.Parse(args);
if (parsed.Errors.Count > 0 && parsed.Action is not System.CommandLine.Help.HelpAction)
{
    foreach (var error in parsed.Errors)
    {
        Console.Error.WriteLine(error.Message);
    }
    Console.Error.WriteLine("Run grantctl --help (or grantctl COMMAND --help) for usage.");
    return ExitCodes.Usage;
}
return await parsed.InvokeAsync();

// A command that calls the API as the logged-in caller.
Command Leaf(string name, string description, Argument[] arguments, Option[] options, Func<ParseResult, Api, Output, CancellationToken, Task<int>> run)
{
    var command = new Command(name, description);
    foreach (var argument in arguments)
    {
        command.Arguments.Add(argument);
    }
    foreach (var option in options)
    {
        command.Options.Add(option);
    }
    command.SetAction((parse, cancellationToken) => RunAsync(parse, (api, output) => run(parse, api!, output, cancellationToken), needsToken: true, cancellationToken));
    return command;
}

async Task<int> RunAsync(ParseResult parse, Func<Api?, Output, Task<int>> run, bool needsToken, CancellationToken cancellationToken)
{
    var output = new Output(Console.Out, parse.GetValue(json));
    try
    {
        var settings = Settings.Load();
        var address = parse.GetValue(url) ?? settings.Url ?? Settings.DefaultUrl;
        if (!Uri.TryCreate(address, UriKind.Absolute, out var baseAddress))
        {
            throw new GrantctlException(ExitCodes.Usage, $"'{address}' is not a URL (for example {Settings.DefaultUrl}).");
        }
        if (needsToken && settings.Token is null)
        {
            throw new GrantctlException(ExitCodes.NotPermitted, "Not logged in.", "Run grantctl login --token-file FILE (or --development on a development silo), or set GRANTCTL_TOKEN.");
        }
        using var api = new Api(baseAddress, settings.Token);
        return await run(needsToken ? api : null, output);
    }
    catch (GrantctlException failure)
    {
        Console.Error.WriteLine(failure.Message);
        if (failure.Hint is not null)
        {
            Console.Error.WriteLine(failure.Hint);
        }
        return failure.ExitCode;
    }
    catch (IOException unreadable)
    {
        Console.Error.WriteLine(unreadable.Message);
        return ExitCodes.Usage;
    }
}

static async Task<int> ShowAsync(Task<JsonNode> call, Output output, Action<Output, JsonNode> render)
{
    var item = await call;
    output.Write(item, () => render(output, item));
    return ExitCodes.Ok;
}

static async Task<int> ListAsync(Task<JsonNode> call, Output output, Func<JsonNode, JsonArray> items, params (string, Func<JsonNode, string?>)[] columns)
{
    var list = await call;
    output.Write(list, () => output.Table(items(list), columns));
    return ExitCodes.Ok;
}

static string Segment(string id) => Uri.EscapeDataString(id);

static void ShowAgent(Output output, JsonNode agent) => output.Fields(agent,
    ("agent", Output.S(agent["workloadId"])), ("status", Output.S(agent["status"])), ("owner", Output.S(agent["owner"])),
    ("ceiling", string.Join(" ", agent["ceiling"]?["permissions"]?.AsArray().Select(p => Output.S(p)) ?? [])),
    ("live tasks", Output.S(agent["liveTasks"])), ("live sessions", Output.S(agent["liveSessions"])), ("reason", Output.S(agent["statusReason"])));

static void ShowTask(Output output, JsonNode task) => output.Fields(task,
    ("task", Output.S(task["taskId"])), ("status", Output.S(task["status"])), ("person", Output.S(task["rootPerson"])), ("agent", Output.S(task["agent"])),
    ("parent", Output.S(task["parentTaskId"])), ("depth", Output.S(task["depth"])), ("scope", string.Join(" ", task["scope"]?["permissions"]?.AsArray().Select(p => Output.S(p)) ?? [])),
    ("expires", Output.S(task["expiresAt"])), ("reason", Output.S(task["statusReason"])));

static void ShowApproval(Output output, JsonNode approval) => output.Fields(approval,
    ("approval", Output.S(approval["approvalId"])), ("status", Output.S(approval["status"])), ("agent", Output.S(approval["agent"])),
    ("asks", $"{Output.S(approval["action"])} {Output.S(approval["resource"]?["type"])}:{Output.S(approval["resource"]?["path"])}"),
    ("for", Output.S(approval["rootPerson"])), ("decided by", Output.S(approval["decidedBy"])), ("expires", Output.S(approval["expiresAt"])));

public static partial class Program
{
    private static readonly (string, Func<JsonNode, string?>)[] Tasks =
        [("task", t => Output.S(t["taskId"])), ("status", t => Output.S(t["status"])), ("person", t => Output.S(t["rootPerson"])), ("depth", t => Output.S(t["depth"])), ("expires", t => Output.S(t["expiresAt"]))];

    private static readonly (string, Func<JsonNode, string?>)[] Approvals =
        [("approval", a => Output.S(a["approvalId"])), ("agent", a => Output.S(a["agent"])), ("action", a => Output.S(a["action"])),
         ("resource", a => $"{Output.S(a["resource"]?["type"])}:{Output.S(a["resource"]?["path"])}"), ("for", a => Output.S(a["rootPerson"])), ("expires", a => Output.S(a["expiresAt"]))];

    private static readonly (string, Func<JsonNode, string?>)[] Versions =
        [("version", v => Output.S(v["version"])), ("author", v => Output.S(v["author"])), ("published", v => Output.S(v["publishedAt"]))];
}
