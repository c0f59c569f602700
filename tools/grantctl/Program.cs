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
    if (!Uri.TryCreate(settings.Url, UriKind.Absolute, out var address))
    {
        throw new GrantctlException(ExitCodes.Usage, $"'{settings.Url}' is not a URL (for example {Settings.DefaultUrl}).");
    }
    using (var api = new Api(address, token))
    {
        await api.GetAsync("/health/ready", cancellationToken);
    }
    settings.Save();
    output.Line($"Logged in to {settings.Url}; saved in {Settings.File}.");
    return ExitCodes.Ok;
}, needsToken: false, cancellationToken));
root.Subcommands.Add(login);

// ---- scopes, as options (every command that grants takes the same three) ----
var permissions = new Option<string[]>("--permission") { Description = "A permission written type:action:pattern (for example repo:read:acme/*); repeat for more", Required = true, AllowMultipleArgumentsPerToken = true };
var classification = new Option<string>("--classification") { Description = "The highest data classification the holder may touch", DefaultValueFactory = _ => "internal" };
classification.AcceptOnlyFromAmong("public", "internal", "confidential", "restricted");
var depth = new Option<int>("--depth") { Description = "How many further delegation hops the holder may make", DefaultValueFactory = _ => 0 };
var lifetime = new Option<string?>("--lifetime") { Description = "How long it lives (hh:mm:ss, for example 00:30:00)", Required = true };
object ScopeOf(ParseResult parse) => new { permissions = parse.GetValue(permissions), maxClassification = parse.GetValue(classification), delegationDepth = parse.GetValue(depth) };
string LifetimeOf(ParseResult parse, Option<string?> option) => parse.GetValue(option) is { } text && TimeSpan.TryParse(text, System.Globalization.CultureInfo.InvariantCulture, out var span) && span > TimeSpan.Zero
    ? span.ToString("c", System.Globalization.CultureInfo.InvariantCulture)
    : throw new GrantctlException(ExitCodes.Usage, $"{option.Name} '{parse.GetValue(option)}' is not a duration (hh:mm:ss, for example 00:30:00).");

// ---- agents ----
var pageSize = new Option<int?>("--page-size") { Description = "Items asked for per request (listings follow every page to the end)" };
var agentId = new Argument<string>("workload-id") { Description = "The agent's workload id (its SPIFFE ID)" };
var reason = new Option<string>("--reason") { Description = "Why (recorded and shown; never decides anything)", Required = true };
var agents = new Command("agents", "Agents: register, show, suspend, resume, retire, and their tasks and sessions");
var owner = new Option<string>("--owner") { Description = "The person accountable for the agent (person:<name>)", Required = true };
agents.Subcommands.Add(Leaf("register", "Register an agent with its ceiling: the most any task may grant it (operators)", [agentId], [owner, permissions, classification, depth], (parse, api, output, ct) =>
    ShowAsync(api.PostAsync("/v1/agents", new { workloadId = parse.GetValue(agentId), owner = parse.GetValue(owner), ceiling = ScopeOf(parse) }, ct), output, ShowAgent)));
agents.Subcommands.Add(Leaf("get", "Show an agent", [agentId], [], (parse, api, output, ct) => ShowAsync(api.GetAsync($"/v1/agents/{Segment(parse.GetValue(agentId)!)}", ct), output, ShowAgent)));
foreach (var (verb, text) in new[] { ("suspend", "Suspend an agent: its sessions, tasks and credentials end"), ("resume", "Let a suspended agent act again"), ("retire", "Retire an agent for good") })
{
    agents.Subcommands.Add(Leaf(verb, text, [agentId], [reason], (parse, api, output, ct) =>
        ShowAsync(api.PostAsync($"/v1/agents/{Segment(parse.GetValue(agentId)!)}/{verb}", new { reason = parse.GetValue(reason) }, ct), output, ShowAgent)));
}
agents.Subcommands.Add(Leaf("tasks", "List an agent's live tasks", [agentId], [pageSize], (parse, api, output, ct) =>
    PagesAsync(api, $"/v1/agents/{Segment(parse.GetValue(agentId)!)}/tasks", parse.GetValue(pageSize), output, ct, Tasks)));
agents.Subcommands.Add(Leaf("sessions", "List an agent's sessions", [agentId], [pageSize], (parse, api, output, ct) =>
    PagesAsync(api, $"/v1/agents/{Segment(parse.GetValue(agentId)!)}/sessions", parse.GetValue(pageSize), output, ct, Sessions)));
root.Subcommands.Add(agents);

// ---- tasks ----
var taskId = new Argument<string>("task-id") { Description = "The task's id" };
var summary = new Option<string?>("--summary") { Description = "What was done" };
var tasks = new Command("tasks", "Tasks: create, delegate, list, get, tree, revoke, complete, reauthorize");
var person = new Option<string>("--person") { Description = "The person the work is for (person:<name>)", Required = true };
var assignee = new Option<string>("--agent") { Description = "The agent the task is assigned to (its workload id)", Required = true };
var purpose = new Option<string?>("--purpose") { Description = "What the work is for, as the agent side tells it (shown to approvers as untrusted text; never decides anything)" };
var checkpoint = new Option<string?>("--checkpoint") { Description = "Pause for re-authorization this often (hh:mm:ss)" };
var proofFile = new Option<string?>("--proof-file") { Description = "A file holding the delegating agent's live credential for the parent task (or set GRANTCTL_CREDENTIAL)" };
tasks.Subcommands.Add(Leaf("create", "Create a root task for a person, assigned to an agent (orchestrators)", [], [person, assignee, permissions, classification, depth, lifetime, checkpoint, purpose], (parse, api, output, ct) =>
    ShowAsync(api.PostAsync("/v1/tasks", new
    {
        person = parse.GetValue(person), agent = parse.GetValue(assignee), scope = ScopeOf(parse), lifetime = LifetimeOf(parse, lifetime),
        checkpointInterval = parse.GetValue(checkpoint) is null ? null : LifetimeOf(parse, checkpoint), purpose = parse.GetValue(purpose),
    }, ct), output, ShowTask)));
tasks.Subcommands.Add(Leaf("delegate", "Delegate a narrower child of a task to another agent (the task's agent, proving itself with its credential)", [taskId], [proofFile, assignee, permissions, classification, depth, lifetime], async (parse, api, output, ct) =>
{
    var proof = await SecretAsync(parse, proofFile, ct);
    return await ShowAsync(api.PostAsync($"/v1/tasks/{Segment(parse.GetValue(taskId)!)}/delegations", new { proofToken = proof, agent = parse.GetValue(assignee), scope = ScopeOf(parse), lifetime = LifetimeOf(parse, lifetime) }, ct), output, ShowTask);
}));
tasks.Subcommands.Add(Leaf("credentials", "List a task's credentials", [taskId], [pageSize], (parse, api, output, ct) =>
    PagesAsync(api, $"/v1/tasks/{Segment(parse.GetValue(taskId)!)}/credentials", parse.GetValue(pageSize), output, ct, Credentials)));
var ofAgent = new Option<string>("--agent") { Description = "The agent whose live tasks to list", Required = true };
tasks.Subcommands.Add(Leaf("list", "List an agent's live tasks", [], [ofAgent, pageSize], (parse, api, output, ct) =>
    PagesAsync(api, $"/v1/agents/{Segment(parse.GetValue(ofAgent)!)}/tasks", parse.GetValue(pageSize), output, ct, Tasks)));
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

// ---- sessions ----
var sessionId = new Argument<string>("session-id") { Description = "The session's id" };
var sessions = new Command("sessions", "An agent's sessions: open, get, end");
var sessionAgent = new Option<string>("--agent") { Description = "The agent opening the session (the caller's own workload id)", Required = true };
sessions.Subcommands.Add(Leaf("open", "Open a session for an agent (as the agent)", [], [sessionAgent], (parse, api, output, ct) =>
    ShowAsync(api.PostAsync("/v1/sessions", new { agent = parse.GetValue(sessionAgent) }, ct), output, ShowSession)));
sessions.Subcommands.Add(Leaf("get", "Show a session", [sessionId], [], (parse, api, output, ct) => ShowAsync(api.GetAsync($"/v1/sessions/{Segment(parse.GetValue(sessionId)!)}", ct), output, ShowSession)));
sessions.Subcommands.Add(Leaf("end", "End a session and every credential issued in it", [sessionId], [reason], (parse, api, output, ct) =>
    ShowAsync(api.PostAsync($"/v1/sessions/{Segment(parse.GetValue(sessionId)!)}/end", new { reason = parse.GetValue(reason) }, ct), output, ShowSession)));
root.Subcommands.Add(sessions);

// ---- credentials ----
var credentialId = new Argument<string>("credential-id") { Description = "The credential's id (never its token)" };
var credentials = new Command("credentials", "Credentials: issue, get, revoke, introspect");
var inSession = new Option<string>("--session") { Description = "The session to issue it in", Required = true };
var forTask = new Option<string>("--task") { Description = "The task it is for", Required = true };
var credentialLifetime = new Option<string?>("--lifetime") { Description = "Shorter than the default (hh:mm:ss)" };
var outFile = new Option<string>("--out") { Description = "The file to write the credential's token to (created readable by you only; the token is never printed)", Required = true };
credentials.Subcommands.Add(Leaf("issue", "Issue a short-lived credential for a task in a session (as the session's agent)", [], [inSession, forTask, credentialLifetime, outFile], async (parse, api, output, ct) =>
{
    var issued = await api.PostAsync($"/v1/sessions/{Segment(parse.GetValue(inSession)!)}/credentials",
        new { taskId = parse.GetValue(forTask), lifetime = parse.GetValue(credentialLifetime) is null ? null : LifetimeOf(parse, credentialLifetime) }, ct);
    var token = Output.S(issued["token"]) ?? throw new GrantctlException(ExitCodes.Unavailable, "GrantSilo answered without a token.");
    try
    {
        await Settings.WriteSecretAsync(parse.GetValue(outFile)!, token, ct);
    }
    catch (Exception unwritable) when (unwritable is IOException or UnauthorizedAccessException)
    {
        // The credential exists but nobody holds its token: say so, so it can be revoked rather than left to expire.
        throw new GrantctlException(ExitCodes.Usage, $"{unwritable.Message} The credential {Output.S(issued["credentialId"])} was issued but its token was not saved: revoke it (grantctl credentials revoke {Output.S(issued["credentialId"])} --reason ...) and issue another with --out naming a file you can write.");
    }
    // The token went to the file only: what is shown (or printed as JSON) is everything else.
    issued.AsObject().Remove("token");
    output.Write(issued, () => output.Fields(issued, ("credential", Output.S(issued["credentialId"])), ("task", Output.S(issued["taskId"])), ("agent", Output.S(issued["agent"])),
        ("session", Output.S(issued["sessionId"])), ("expires", Output.S(issued["expiresAt"])), ("token", $"written to {parse.GetValue(outFile)}")));
    return ExitCodes.Ok;
}));
credentials.Subcommands.Add(Leaf("get", "Show a credential", [credentialId], [], (parse, api, output, ct) => ShowAsync(api.GetAsync($"/v1/credentials/{Segment(parse.GetValue(credentialId)!)}", ct), output, ShowCredential)));
credentials.Subcommands.Add(Leaf("revoke", "Revoke one credential (nothing else)", [credentialId], [reason], (parse, api, output, ct) =>
    ShowAsync(api.PostAsync($"/v1/credentials/{Segment(parse.GetValue(credentialId)!)}/revoke", new { reason = parse.GetValue(reason) }, ct), output, ShowCredential)));
var introspected = new Option<string?>("--credential-file") { Description = "A file holding the credential's token (or set GRANTCTL_CREDENTIAL)" };
credentials.Subcommands.Add(Leaf("introspect", "Whether a credential token is active now and, if not, why (exit 0 active, 3 not)", [], [introspected], async (parse, api, output, ct) =>
{
    var answer = await api.PostAsync("/v1/credentials/introspect", new { token = await SecretAsync(parse, introspected, ct) }, ct);
    output.Write(answer, () => output.Fields(answer, ("active", Output.S(answer["active"])), ("credential", Output.S(answer["credentialId"])), ("task", Output.S(answer["taskId"])),
        ("agent", Output.S(answer["agent"])), ("expires", Output.S(answer["expiresAt"])), ("why not", Output.S(answer["reason"]))));
    return answer["active"]?.GetValue<bool>() == true ? ExitCodes.Ok : ExitCodes.NotAllowed;
}));
root.Subcommands.Add(credentials);

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
            if (item.EventType == "dropped")
            {
                // This reader fell behind and the stream dropped the oldest events: what it showed is incomplete.
                output.Line(output.Json
                    ? new JsonObject { ["event"] = item.EventType, ["dropped"] = approval["dropped"]?.DeepClone() }.ToJsonString()
                    : $"dropped    {Output.S(approval["dropped"])} events were lost while this terminal fell behind: run grantctl approvals list for every approval still waiting");
            }
            else if (output.Json)
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

// ---- dashboard ----
var dashboardPort = new Option<int>("--port") { Description = "The loopback port for the browser", DefaultValueFactory = _ => 8089 };
var dashboardPath = new Option<string>("--path") { Description = "Where the silo serves the dashboard (GrantSilo:Dashboard:Path)", DefaultValueFactory = _ => "/dashboard" };
var dashboard = new Command("dashboard", "Open the Orleans Dashboard in a browser on this machine, as the logged-in operator (the token stays in grantctl)") { dashboardPort, dashboardPath };
dashboard.SetAction((parse, cancellationToken) => RunAsync(parse, async (api, output) =>
{
    var path = "/" + parse.GetValue(dashboardPath)!.Trim('/');
    // The operator's token is checked once before the browser is sent anywhere.
    await api!.GetRawAsync(path + "/DashboardCounters", cancellationToken);
    using var proxy = new DashboardProxy(api.BaseAddress, api.Token!, path);
    return await proxy.RunAsync(parse.GetValue(dashboardPort), output, cancellationToken);
}, needsToken: true, cancellationToken));
root.Subcommands.Add(dashboard);

// ---- authorize ----
var credentialFile = new Option<string?>("--credential-file") { Description = "A file holding the agent's GrantSilo credential token (or set GRANTCTL_CREDENTIAL)" };
var action = new Option<string>("--action") { Description = "The action (read, write...)", Required = true };
var resourceType = new Option<string>("--type") { Description = "The resource's type", Required = true };
var resourcePath = new Option<string>("--path") { Description = "The resource's path", Required = true };
var approval = new Option<string?>("--approval") { Description = "An approved step-up to present" };
root.Subcommands.Add(Leaf("authorize", "Try a decision: may the credential's holder do this now? (exit 0 allow, 3 deny or step-up)", [], [credentialFile, action, resourceType, resourcePath, approval], async (parse, api, output, ct) =>
{
    var credential = await SecretAsync(parse, credentialFile, ct);
    var decision = await api.PostAsync("/v1/authorize", new { token = credential, action = parse.GetValue(action), resource = new { type = parse.GetValue(resourceType), path = parse.GetValue(resourcePath) }, approvalId = parse.GetValue(approval) }, ct);
    output.Write(decision, () => output.Fields(decision, ("decision", Output.S(decision["kind"])), ("reason", Output.S(decision["reason"])), ("detail", Output.S(decision["detail"])),
        ("approval", Output.S(decision["approvalId"])), ("policy", Output.S(decision["policyVersion"]))));
    return Output.S(decision["kind"]) == "allow" ? ExitCodes.Ok : ExitCodes.NotAllowed;
}));

// ---- audit ----
root.Subcommands.Add(AuditCommands.Create(Leaf, RunAsync));

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
        // Only a command that calls GrantSilo makes an Api, which refuses an address a token must not be sent to.
        using var api = needsToken ? new Api(baseAddress, settings.Token) : null;
        return await run(api, output);
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
    catch (Exception unusable) when (unusable is IOException or UnauthorizedAccessException)
    {
        // A file named on the command line that cannot be read or written (a directory, a missing folder, another
        // user's file): one line naming it, as for any other mistake on the command line.
        Console.Error.WriteLine(unusable.Message);
        return ExitCodes.Usage;
    }
}

static async Task<int> ShowAsync(Task<JsonNode> call, Output output, Action<Output, JsonNode> render)
{
    var item = await call;
    output.Write(item, () => render(output, item));
    return ExitCodes.Ok;
}

// A paged listing, every page to the end: a page may be short or even empty (its items are filtered by what the caller may
// read), so only a page without a continuation token ends it. --json prints the items of every page as one list.
static async Task<int> PagesAsync(Api api, string path, int? pageSize, Output output, CancellationToken cancellationToken, params (string, Func<JsonNode, string?>)[] columns)
{
    var items = new JsonArray();
    string? next = null;
    var seen = new HashSet<string>(StringComparer.Ordinal);
    do
    {
        var query = string.Join('&', new[]
        {
            pageSize is { } size ? "pageSize=" + size.ToString(System.Globalization.CultureInfo.InvariantCulture) : null,
            next is null ? null : "continuationToken=" + Uri.EscapeDataString(next),
        }.Where(p => p is not null));
        var page = await api.GetAsync(query.Length == 0 ? path : path + "?" + query, cancellationToken);
        foreach (var item in page["items"]!.AsArray().ToList())
        {
            items.Add(item?.DeepClone());
        }
        next = Output.S(page["continuationToken"]);
        // A server that hands back a token it gave before would loop forever: stop and say so.
        if (next is not null && !seen.Add(next))
        {
            throw new GrantctlException(ExitCodes.Unavailable, $"GrantSilo returned the same continuation token twice while listing {path}; the listing is incomplete.");
        }
    }
    while (next is not null);
    var list = new JsonObject { ["items"] = items };
    output.Write(list, () => output.Table(items, columns));
    return ExitCodes.Ok;
}

static async Task<int> ListAsync(Task<JsonNode> call, Output output, Func<JsonNode, JsonArray> items, params (string, Func<JsonNode, string?>)[] columns)
{
    var list = await call;
    output.Write(list, () => output.Table(items(list), columns));
    return ExitCodes.Ok;
}

static string Segment(string id) => Uri.EscapeDataString(id);

// A credential token, from GRANTCTL_CREDENTIAL or a file: never from the command line, where other users see it.
static async Task<string> SecretAsync(ParseResult parse, Option<string?> file, CancellationToken cancellationToken)
{
    if (Environment.GetEnvironmentVariable("GRANTCTL_CREDENTIAL") is { Length: > 0 } fromEnvironment)
    {
        return fromEnvironment.Trim();
    }
    return parse.GetValue(file) is { } path
        ? (path == "-" ? await Console.In.ReadToEndAsync(cancellationToken) : await File.ReadAllTextAsync(path, cancellationToken)).Trim()
        : throw new GrantctlException(ExitCodes.Usage, $"Give {file.Name} FILE (or -) or set GRANTCTL_CREDENTIAL (a credential token is never passed on the command line).");
}

static void ShowSession(Output output, JsonNode session) => output.Fields(session,
    ("session", Output.S(session["sessionId"])), ("status", Output.S(session["status"])), ("agent", Output.S(session["agent"])),
    ("opened", Output.S(session["openedAt"])), ("expires", Output.S(session["expiresAt"])), ("reason", Output.S(session["statusReason"])));

static void ShowCredential(Output output, JsonNode credential) => output.Fields(credential,
    ("credential", Output.S(credential["credentialId"])), ("status", Output.S(credential["status"])), ("task", Output.S(credential["taskId"])),
    ("agent", Output.S(credential["agent"])), ("session", Output.S(credential["sessionId"])), ("expires", Output.S(credential["expiresAt"])), ("reason", Output.S(credential["statusReason"])));

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

    private static readonly (string, Func<JsonNode, string?>)[] Sessions =
        [("session", s => Output.S(s["sessionId"])), ("status", s => Output.S(s["status"])), ("opened", s => Output.S(s["openedAt"])), ("expires", s => Output.S(s["expiresAt"]))];

    private static readonly (string, Func<JsonNode, string?>)[] Credentials =
        [("credential", c => Output.S(c["credentialId"])), ("status", c => Output.S(c["status"])), ("agent", c => Output.S(c["agent"])), ("session", c => Output.S(c["sessionId"])), ("expires", c => Output.S(c["expiresAt"]))];

    private static readonly (string, Func<JsonNode, string?>)[] Approvals =
        [("approval", a => Output.S(a["approvalId"])), ("agent", a => Output.S(a["agent"])), ("action", a => Output.S(a["action"])),
         ("resource", a => $"{Output.S(a["resource"]?["type"])}:{Output.S(a["resource"]?["path"])}"), ("for", a => Output.S(a["rootPerson"])), ("expires", a => Output.S(a["expiresAt"]))];

    private static readonly (string, Func<JsonNode, string?>)[] Versions =
        [("version", v => Output.S(v["version"])), ("author", v => Output.S(v["author"])), ("published", v => Output.S(v["publishedAt"]))];
}
