using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;

namespace GrantSilo.Cedar.Benchmarks;

/// <summary>
/// A GrantSilo-like authorization workload: 20 policies, 50 entities, and requests with varied contexts.
/// Generated deterministically from a seed; written as JSON so both engines read the same data.
/// </summary>
internal sealed class Workload
{
    public const string Policies = """
        permit (principal in Group::"g0", action == Action::"read", resource in Folder::"f0");
        permit (principal is Agent, action in [Action::"read", Action::"write"], resource is Doc) when { resource.owner == principal.owner };
        permit (principal, action == Action::"read", resource) when { principal.trustLevel >= resource.classification };
        forbid (principal, action, resource) when { resource.classification > 3 && !(principal in Group::"g4") };
        permit (principal in Group::"g1", action in Action::"mutate", resource) when { context.depth < 3 && context.sourceIp.isInRange(ip("10.0.0.0/8")) };
        forbid (principal, action == Action::"delete", resource) unless { principal.clearance.greaterThanOrEqual(decimal("0.75")) };
        @obligation("approval") permit (principal, action == Action::"delete", resource is Doc) when { resource.owner == principal.owner };
        permit (principal, action == Action::"share", resource) when { resource.tags.contains("public") };
        forbid (principal, action, resource) when { context has suspended && context.suspended };
        permit (principal, action, resource) when { resource.path like "/public/*" && action == Action::"read" };
        permit (principal is Agent in Group::"g2", action, resource in Folder::"f1") when { context.now < datetime("2030-01-01") };
        forbid (principal, action == Action::"write", resource) when { resource has locked && resource.locked };
        permit (principal, action == Action::"read", resource) when { principal.team == "ops" && resource.tags.containsAny(["ops", "infra"]) };
        permit (principal in Group::"all", action == Action::"read", resource) when { context.taskId like "task-*" && context.depth <= 1 };
        forbid (principal, action, resource) when { context.sourceIp.isLoopback() };
        permit (principal, action in [Action::"write", Action::"share"], resource) when { principal.trustLevel * 2 + context.depth > 8 };
        permit (principal, action, resource) when { principal has delegatedBy && principal.delegatedBy in Group::"g3" };
        forbid (principal is Agent, action, resource is Doc) when { resource.tags.containsAll(["secret", "legal"]) && principal.trustLevel < 5 };
        permit (principal, action == Action::"read", resource in Folder::"f2") when { context.sessionAge < duration("8h") };
        permit (principal == Agent::"agent-0", action, resource);
        """;

    private static readonly string[] Actions = ["read", "write", "delete", "share"];
    private static readonly string[] Tags = ["public", "ops", "infra", "secret", "legal", "hr"];
    private static readonly string[] Teams = ["ops", "dev", "sec"];

    private Workload(JsonArray entities, JsonArray requests)
    {
        Entities = entities;
        Requests = requests;
    }

    public JsonArray Entities { get; }

    public JsonArray Requests { get; }

    public static Workload Create(int requestCount, int seed)
    {
        var rng = new Random(seed);
        var entities = new JsonArray();

        // 6 groups, 5 people, 20 agents, 3 folders, 11 documents, 5 actions = 50 entities.
        entities.Add(Entity("Group", "all", []));
        for (var g = 0; g < 5; g++)
        {
            entities.Add(Entity("Group", $"g{g}", [Uid("Group", "all")]));
        }

        for (var p = 0; p < 5; p++)
        {
            entities.Add(Entity("Person", $"person-{p}", []));
        }

        for (var a = 0; a < 20; a++)
        {
            var attrs = new JsonObject
            {
                ["owner"] = EntityRef("Person", $"person-{rng.Next(5)}"),
                ["trustLevel"] = rng.Next(6),
                ["clearance"] = Extension("decimal", $"0.{rng.Next(100):D2}"),
                ["team"] = Teams[rng.Next(Teams.Length)],
            };
            if (rng.Next(4) == 0)
            {
                attrs["delegatedBy"] = EntityRef("Group", $"g{rng.Next(5)}");
            }

            entities.Add(Entity("Agent", $"agent-{a}", [Uid("Group", $"g{rng.Next(5)}"), Uid("Group", $"g{rng.Next(5)}")], attrs));
        }

        for (var f = 0; f < 3; f++)
        {
            entities.Add(Entity("Folder", $"f{f}", []));
        }

        for (var d = 0; d < 11; d++)
        {
            var tags = new JsonArray([.. Enumerable.Range(0, rng.Next(4)).Select(_ => (JsonNode)Tags[rng.Next(Tags.Length)]).DistinctBy(t => t.GetValue<string>())]);
            var attrs = new JsonObject
            {
                ["owner"] = EntityRef("Person", $"person-{rng.Next(5)}"),
                ["classification"] = rng.Next(5),
                ["tags"] = tags,
                ["path"] = (rng.Next(3) == 0 ? "/public/" : "/proj/") + $"doc-{d}",
            };
            if (rng.Next(3) == 0)
            {
                attrs["locked"] = rng.Next(2) == 0;
            }

            entities.Add(Entity("Doc", $"doc-{d}", [Uid("Folder", $"f{rng.Next(3)}")], attrs));
        }

        entities.Add(Entity("Action", "mutate", []));
        foreach (var action in Actions)
        {
            entities.Add(Entity("Action", action, action is "write" or "delete" ? [Uid("Action", "mutate")] : []));
        }

        var requests = new JsonArray();
        for (var i = 0; i < requestCount; i++)
        {
            var context = new JsonObject
            {
                ["depth"] = rng.Next(5),
                ["sourceIp"] = Extension("ip", rng.Next(10) switch
                {
                    0 => "127.0.0.1",
                    < 6 => $"10.{rng.Next(256)}.{rng.Next(256)}.{rng.Next(256)}",
                    _ => $"192.168.{rng.Next(256)}.{rng.Next(256)}",
                }),
                ["taskId"] = rng.Next(4) == 0 ? $"job-{i}" : $"task-{i}",
                ["now"] = Extension("datetime", $"20{rng.Next(24, 32)}-0{rng.Next(1, 10)}-1{rng.Next(10)}T12:00:00Z"),
                ["sessionAge"] = Extension("duration", $"{rng.Next(12)}h{rng.Next(60)}m"),
            };
            if (rng.Next(10) == 0)
            {
                context["suspended"] = rng.Next(2) == 0;
            }

            requests.Add(new JsonObject
            {
                ["principal"] = Uid("Agent", $"agent-{rng.Next(20)}"),
                ["action"] = Uid("Action", Actions[rng.Next(Actions.Length)]),
                ["resource"] = Uid("Doc", $"doc-{rng.Next(11)}"),
                ["context"] = context,
            });
        }

        return new Workload(entities, requests);
    }

    public string ToJson() => new JsonObject
    {
        ["policies"] = Policies,
        ["entities"] = Entities.DeepClone(),
        ["requests"] = Requests.DeepClone(),
    }.ToJsonString();

    private static JsonObject Entity(string type, string id, JsonNode[] parents, JsonObject? attrs = null) => new()
    {
        ["uid"] = Uid(type, id),
        ["attrs"] = attrs ?? [],
        ["parents"] = new JsonArray(parents),
    };

    private static JsonObject Uid(string type, string id) => new() { ["type"] = type, ["id"] = id };

    private static JsonObject EntityRef(string type, string id) => new() { ["__entity"] = Uid(type, id) };

    private static JsonObject Extension(string fn, string arg) => new() { ["__extn"] = new JsonObject { ["fn"] = fn, ["arg"] = arg } };

    public static string Describe(long[] sortedNanos, double throughputPerSecond)
    {
        var sb = new StringBuilder();
        sb.Append(CultureInfo.InvariantCulture, $"p50 {Percentile(sortedNanos, 0.50) / 1000.0,8:F2} us   p99 {Percentile(sortedNanos, 0.99) / 1000.0,8:F2} us   throughput {throughputPerSecond,12:N0} decisions/s");
        return sb.ToString();
    }

    public static double Percentile(long[] sorted, double q) => sorted[Math.Min(sorted.Length - 1, (int)Math.Floor(q * sorted.Length))];
}
