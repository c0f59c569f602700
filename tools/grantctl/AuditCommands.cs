using System.CommandLine;
using System.Net.ServerSentEvents;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace GrantSilo.Grantctl;

/// <summary>
/// <c>grantctl audit</c>: query, lineage, verify (online, or an export offline with the published keys), export, keys and
/// follow (docs/audit.md, docs/grantctl.md). Exit 3 when verification finds the log is not intact.
/// </summary>
internal static class AuditCommands
{
    public delegate Command LeafFactory(string name, string description, Argument[] arguments, Option[] options, Func<ParseResult, Api, Output, CancellationToken, Task<int>> run);

    /// <summary>Runs a command with grantctl's settings, errors and exit codes; the Api is given when a token is needed.</summary>
    public delegate Task<int> Runner(ParseResult parse, Func<Api?, Output, Task<int>> run, bool needsToken, CancellationToken cancellationToken);

    private static readonly (string, Func<JsonNode, string?>)[] Records =
    [
        ("at", e => Output.S(e["record"]?["at"])),
        ("kind", e => Output.S(e["record"]?["kind"])),
        ("decision", e => Output.S(e["record"]?["decision"]) is { } d ? $"{d} {Output.S(e["record"]?["reason"])}" : Output.S(e["record"]?["cause"])),
        ("agent", e => Output.S(e["record"]?["agent"])),
        ("task", e => Output.S(e["record"]?["taskId"])),
        ("action", e => Output.S(e["record"]?["action"]) is { } a ? $"{a} {Output.S(e["record"]?["resourceType"])}:{Output.S(e["record"]?["resourcePath"])}" : null),
        ("caller", e => Output.S(e["record"]?["callerName"])),
        ("id", e => Output.S(e["record"]?["id"])),
    ];

    public static Command Create(LeafFactory leaf, Runner runner)
    {
        var audit = new Command("audit", "The audit log: query, lineage, verify, export, keys, follow");

        var task = new Option<string?>("--task") { Description = "Records of this task and every task below it" };
        var agent = new Option<string?>("--agent") { Description = "Records of this agent" };
        var credential = new Option<string?>("--credential") { Description = "Records of this credential id" };
        var tokenFile = new Option<string?>("--token-file") { Description = "Records of the credential token in this file (sent in a body, never a URL)" };
        var resource = new Option<string?>("--resource") { Description = "A resource path; 'path/*' for everything below it" };
        var person = new Option<string?>("--person") { Description = "Records of this root person" };
        var caller = new Option<string?>("--caller") { Description = "Records of this authenticated caller (name or subject)" };
        var decision = new Option<string?>("--decision") { Description = "The record of this decision id" };
        var kind = new Option<string?>("--kind") { Description = "Only records of this kind (Decision, TaskRevoked, CallerRefused...)" };
        var from = new Option<string?>("--from") { Description = "From this instant (ISO 8601)" };
        var to = new Option<string?>("--to") { Description = "Until this instant (ISO 8601)" };
        var pageSize = new Option<int?>("--page-size") { Description = "Records per page (1-1000)" };
        var page = new Option<string?>("--page") { Description = "The continuation token a previous page printed" };
        var newest = new Option<bool>("--newest") { Description = "Newest records first (a --page token is only valid with the order that printed it)" };
        Option[] filters = [task, agent, credential, resource, person, caller, decision, kind, from, to];

        string Query(ParseResult parse, params (string, string?)[] extra)
        {
            var pairs = new (string, string?)[]
            {
                ("taskId", parse.GetValue(task)), ("agent", parse.GetValue(agent)), ("credentialId", parse.GetValue(credential)), ("resource", parse.GetValue(resource)),
                ("person", parse.GetValue(person)), ("caller", parse.GetValue(caller)), ("decisionId", parse.GetValue(decision)), ("kind", parse.GetValue(kind)),
                ("from", parse.GetValue(from)), ("to", parse.GetValue(to)),
            }.Concat(extra).Where(p => p.Item2 is not null).Select(p => $"{p.Item1}={Uri.EscapeDataString(p.Item2!)}");
            return string.Join("&", pairs);
        }

        audit.Subcommands.Add(leaf("query", "Find records (filters combine); prints the continuation token of the next page", [], [.. filters, tokenFile, pageSize, page, newest], async (parse, api, output, ct) =>
        {
            JsonNode found;
            if (parse.GetValue(tokenFile) is { } file)
            {
                var token = (await File.ReadAllTextAsync(file, ct)).Trim();
                found = await api.PostAsync("/v1/audit/records/search", new
                {
                    token,
                    taskId = parse.GetValue(task), agent = parse.GetValue(agent), credentialId = parse.GetValue(credential), resource = parse.GetValue(resource),
                    person = parse.GetValue(person), caller = parse.GetValue(caller), decisionId = parse.GetValue(decision), pageSize = parse.GetValue(pageSize), continuationToken = parse.GetValue(page),
                    order = parse.GetValue(newest) ? "newestFirst" : "oldestFirst",
                }, ct);
            }
            else
            {
                found = await api.GetAsync($"/v1/audit/records?{Query(parse, ("pageSize", parse.GetValue(pageSize)?.ToString(System.Globalization.CultureInfo.InvariantCulture)), ("continuationToken", parse.GetValue(page)), ("order", parse.GetValue(newest) ? "newest" : null))}", ct);
            }
            output.Write(found, () =>
            {
                output.Table(found["items"]!.AsArray(), Records);
                if (found["items"]!.AsArray().Count > 0 && Output.S(found["continuationToken"]) is { } next)
                {
                    output.Line($"next page: --page {next}");
                }
            });
            return ExitCodes.Ok;
        }));

        var decisionId = new Argument<string>("decision-id") { Description = "The decision id returned with the decision" };
        audit.Subcommands.Add(leaf("lineage", "Print person → orchestrator → task chain → agent → credential → action → resource → decision, and what each rested on", [decisionId], [], async (parse, api, output, ct) =>
        {
            var lineage = await api.GetAsync($"/v1/audit/decisions/{Uri.EscapeDataString(parse.GetValue(decisionId)!)}/lineage", ct);
            output.Write(lineage, () =>
            {
                var r = lineage["decision"]!["record"]!;
                output.Line($"person        {Output.S(r["rootPerson"]) ?? "(unknown)"}");
                output.Line($"orchestrator  {Output.S(r["orchestrator"]) ?? "(unknown)"}");
                var chain = r["taskChain"]?.AsArray().Select(t => Output.S(t)).ToList() ?? [];
                output.Line($"task chain    {(chain.Count == 0 ? "(none)" : string.Join(" → ", chain))}");
                output.Line($"agent         {Output.S(r["agent"])}");
                output.Line($"session       {Output.S(r["sessionId"])}");
                output.Line($"credential    {Output.S(r["credentialId"])}");
                output.Line($"action        {Output.S(r["action"])}");
                output.Line($"resource      {Output.S(r["resourceType"])}:{Output.S(r["resourcePath"])}");
                output.Line($"decision      {Output.S(r["decision"])} ({Output.S(r["reason"])}) {Output.S(r["detail"])}");
                output.Line($"policy        version {Output.S(r["policyVersion"]) ?? "-"}; {string.Join(", ", r["determiningPolicies"]?.AsArray().Select(p => Output.S(p)) ?? [])}");
                output.Line($"asked by      {Output.S(r["callerName"])} ({Output.S(r["callerIssuer"])}, {Output.S(r["callerSubject"])}) at {Output.S(r["at"])} on {Output.S(r["silo"])}");
                output.Line("");
                output.Table(lineage["related"]!.AsArray(), Records);
            });
            return ExitCodes.Ok;
        }));

        var exportFile = new Option<string?>("--file") { Description = "Verify this export (JSON lines) offline instead of asking the silo" };
        var keysFile = new Option<string?>("--keys") { Description = "With --file: the published keys (the JSON of 'grantctl audit keys')" };
        var verify = new Command("verify", "Verify the hash chains and signed checkpoints: the first broken link and the last checkpoint (exit 3 if broken)") { exportFile, keysFile };
        // Offline (an export and its keys) it needs no login; online it asks the silo as the logged-in caller.
        verify.SetAction((parse, ct) => runner(parse, async (api, output) =>
        {
            AuditVerification result;
            if (parse.GetValue(exportFile) is { } file)
            {
                var keys = parse.GetValue(keysFile) ?? throw new GrantctlException(ExitCodes.Usage, "Give --keys FILE (the published keys) with --file.");
                result = await VerifyOfflineAsync(file, keys, ct);
            }
            else
            {
                result = (await api!.GetAsync("/v1/audit/verify", ct)).Deserialize<AuditVerification>(Web)!;
            }
            var node = JsonSerializer.SerializeToNode(result, Web)!;
            output.Write(node, () =>
            {
                output.Line(result.Intact ? $"Intact: {result.RecordsChecked} records in {result.Streams} streams." : $"BROKEN: {result.Broken} in stream {result.BrokenStream} at record {result.BrokenSequence}: {result.Detail}");
                foreach (var stream in result.PerStream)
                {
                    output.Line(StreamLine(stream));
                }
                output.Line(result.LastCheckpoint is { } c ? $"Last signed checkpoint: stream {c.Stream} record {c.Sequence} at {c.At:O} (key {c.KeyId})." : "No signed checkpoint yet.");
            });
            return result.Intact ? ExitCodes.Ok : ExitCodes.NotAllowed;
        }, needsToken: parse.GetValue(exportFile) is null, ct));
        audit.Subcommands.Add(verify);

        var outFile = new Option<string?>("--out") { Description = "Write to this file (default: standard output)" };
        audit.Subcommands.Add(leaf("export", "Write the matching records (all, without filters) as JSON lines, exactly as stored", [], [.. filters, outFile], async (parse, api, output, ct) =>
        {
            using var response = await api.StreamAsync($"/v1/audit/export?{Query(parse)}", ct);
            await using var body = await response.Content.ReadAsStreamAsync(ct);
            if (parse.GetValue(outFile) is { } file)
            {
                await using var target = File.Create(file);
                await body.CopyToAsync(target, ct);
            }
            else
            {
                await using var stdout = Console.OpenStandardOutput();
                await body.CopyToAsync(stdout, ct);
            }
            return ExitCodes.Ok;
        }));

        audit.Subcommands.Add(leaf("keys", "Print the public keys that sign checkpoints (save them to verify an export anywhere)", [], [outFile], async (parse, api, output, ct) =>
        {
            var keys = await api.GetAsync("/v1/audit/keys", ct);
            if (parse.GetValue(outFile) is { } file)
            {
                await File.WriteAllTextAsync(file, keys.ToJsonString(), ct);
                output.Line($"Saved {keys.AsArray().Count} key(s) to {file}.");
            }
            else
            {
                output.Line(keys.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
            }
            return ExitCodes.Ok;
        }));

        audit.Subcommands.Add(leaf("follow", "Print new matching records as they are written (Ctrl+C stops)", [], [.. filters, page], async (parse, api, output, ct) =>
        {
            using var response = await api.StreamAsync($"/v1/audit/stream?{Query(parse, ("continuationToken", parse.GetValue(page)))}", ct);
            await using var body = await response.Content.ReadAsStreamAsync(ct);
            try
            {
                await foreach (var item in SseParser.Create(body).EnumerateAsync(ct))
                {
                    var entry = JsonNode.Parse(item.Data)!;
                    if (output.Json)
                    {
                        output.Line(entry.ToJsonString());
                    }
                    else
                    {
                        output.Line(string.Join("  ", Records.Select(c => c.Item2(entry) ?? "-")));
                    }
                }
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
            }
            return ExitCodes.Ok;
        }));
        return audit;
    }

    private static readonly JsonSerializerOptions Web = CreateWeb();

    private static JsonSerializerOptions CreateWeb()
    {
        var options = new JsonSerializerOptions(JsonSerializerDefaults.Web);
        options.Converters.Add(new System.Text.Json.Serialization.JsonStringEnumConverter(JsonNamingPolicy.CamelCase));
        return options;
    }

    // One stream's line of a verification: where it starts (and whether retention's signed cut says why), its last signed
    // checkpoint, and how many records follow it unsigned (they could be cut off or replaced until the next checkpoint).
    internal static string StreamLine(AuditStreamVerification stream)
    {
        var start = stream.RetentionCut is { } cut ? $"records {stream.FirstSequence}-{stream.LastSequence} (1-{cut} removed by retention, signed)" : $"records {stream.FirstSequence}-{stream.LastSequence}";
        var signed = stream.LastCheckpoint is { } c ? $"last signed checkpoint {c.Sequence} at {c.At:O}" : "no signed checkpoint";
        return $"  stream {stream.Stream}: {start}; {signed}; {stream.Unsigned} unsigned after it.";
    }

    // An export verified with nothing but its lines and the published keys: what someone outside can do.
    internal static async Task<AuditVerification> VerifyOfflineAsync(string exportFile, string keysFile, CancellationToken cancellationToken)
    {
        var keys = JsonSerializer.Deserialize(await File.ReadAllTextAsync(keysFile, cancellationToken), AuditJson.Default.ListAuditSigningKey)
            ?? throw new GrantctlException(ExitCodes.Usage, $"{keysFile} holds no keys.");
        return AuditChainVerifier.VerifyExport(await File.ReadAllLinesAsync(exportFile, cancellationToken), AuditChain.Import(keys), exportFile);
    }
}
