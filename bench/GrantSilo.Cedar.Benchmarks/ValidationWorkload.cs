using System.Globalization;
using System.Text;

namespace GrantSilo.Cedar.Benchmarks;

/// <summary>
/// The validation workload: a GrantSilo schema (what a decision gives Cedar: agents, persons, groups, resources, the
/// actions and the context record), the shipped default policy set, and 1,000 generated policies over that schema.
/// Also the schema of the decision workload (<see cref="Workload"/>), for evaluation with schema-typed entities.
/// </summary>
internal static class ValidationWorkload
{
    /// <summary>A proposal of GrantSilo's schema, matching the entities and context CedarAccessPolicy builds today.</summary>
    public const string GrantSiloSchema = """
        // Principals: agents (by workload id), owned by a person, members of groups.
        entity Person;
        entity Group in [Group];
        entity Agent in [Group] = { owner: Person, workloadId: String, team?: String };

        // Resources: `type:path`, with their classification; operators add optional attributes.
        entity Resource = {
          type: String,
          path: String,
          classification: String,
          classificationLevel: Long,
          environment?: String,
        };

        // The decision context: structured, server-side facts only (no purpose or intent text).
        type DecisionContext = {
          credentialId: String,
          taskId: String,
          rootTaskId: String,
          rootPerson: String,
          depth: Long,
          hourOfDay: Long,
          dayOfWeek: Long,
          now: datetime,
          sessionAgeSeconds: Long,
          credentialAgeSeconds: Long,
          riskTier: String,
        };

        action read, list, write, create, update, delete, deploy, export, execute
          appliesTo { principal: Agent, resource: Resource, context: DecisionContext };
        """;

    /// <summary>The schema of <see cref="Workload"/>'s entities and requests.</summary>
    public const string DecisionWorkloadSchema = """
        entity Group in [Group];
        entity Person;
        entity Agent in [Group] = { owner: Person, trustLevel: Long, clearance: decimal, team: String, delegatedBy?: Group };
        entity Folder;
        entity Doc in [Folder] = { owner: Person, classification: Long, tags: Set<String>, path: String, locked?: Bool };
        type Ctx = { depth: Long, sourceIp: ipaddr, taskId: String, now: datetime, sessionAge: duration, suspended?: Bool };
        action mutate;
        action read, share appliesTo { principal: Agent, resource: Doc, context: Ctx };
        action write, delete in [mutate] appliesTo { principal: Agent, resource: Doc, context: Ctx };
        """;

    private static readonly string[] Actions = ["read", "list", "write", "create", "update", "delete", "deploy", "export", "execute"];
    private static readonly string[] Classifications = ["public", "internal", "confidential", "restricted"];
    private static readonly string[] Types = ["repo", "secret", "bucket", "ticket", "db"];

    /// <summary>1,000 (or <paramref name="count"/>) well-typed policies in the shapes security teams write, from a fixed seed.</summary>
    public static string GeneratedPolicies(int count, int seed)
    {
        var rng = new Random(seed);
        var sb = new StringBuilder();
        string Pick(string[] a) => a[rng.Next(a.Length)];
        for (var i = 0; i < count; i++)
        {
            sb.Append(CultureInfo.InvariantCulture, $"@id(\"generated-{i}\")\n");
            sb.Append(rng.Next(8) switch
            {
                0 => $"permit (principal in Group::\"team-{rng.Next(50)}\", action == Action::\"{Pick(Actions)}\", resource is Resource) when {{ resource.type == \"{Pick(Types)}\" && context.depth <= {rng.Next(5)} }};",
                1 => $"forbid (principal is Agent, action in [Action::\"{Pick(Actions)}\", Action::\"{Pick(Actions)}\"], resource) when {{ resource.classificationLevel >= {rng.Next(4)} && context.hourOfDay < {rng.Next(24)} }};",
                2 => $"@obligation(\"approval\") permit (principal, action, resource) when {{ resource has environment && resource.environment == \"prod-{rng.Next(9)}\" && context.riskTier != \"low\" }};",
                3 => $"permit (principal == Agent::\"spiffe://acme.dev/agent/{rng.Next(200)}\", action, resource) when {{ resource.path like \"/proj-{rng.Next(30)}/*\" }};",
                4 => $"forbid (principal, action == Action::\"export\", resource) when {{ [\"{Pick(Classifications)}\", \"{Pick(Classifications)}\"].contains(resource.classification) }};",
                5 => $"permit (principal is Agent in Group::\"g{rng.Next(20)}\", action, resource) when {{ principal.owner == Person::\"person-{rng.Next(100)}\" && context.sessionAgeSeconds < {rng.Next(1, 48) * 3600} }};",
                6 => $"forbid (principal, action, resource) unless {{ context.now < datetime(\"20{rng.Next(26, 40)}-01-01\") && (principal has team && principal.team == \"t{rng.Next(10)}\" || context.dayOfWeek < 6) }};",
                _ => $"permit (principal, action in [Action::\"read\", Action::\"list\"], resource) when {{ if resource.classificationLevel > {rng.Next(4)} then context.credentialAgeSeconds < {rng.Next(60, 7200)} else resource.path like \"*/public/*\" }};",
            });
            sb.Append('\n');
        }

        return sb.ToString();
    }
}
