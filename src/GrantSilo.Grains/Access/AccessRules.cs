using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using GrantSilo.Cedar;
using GrantSilo.Identity;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace GrantSilo.Grains.Access;

/// <summary>Options of the access rules (<c>GrantSilo:Access</c>).</summary>
public sealed class AccessRulesOptions
{
    public const string SectionName = "GrantSilo:Access";

    /// <summary>
    /// A Cedar file replacing the shipped access rules (<c>Access/access.cedar</c>) as version 0 of the access
    /// rules. It must validate against the access schema; a silo refuses to start otherwise. Version 0 is
    /// served by the silo hosting the policy store, so every silo of a cluster should be given the same file.
    /// Once a version is published (<c>IAccessRulesGrain</c>), the published version is in force on every silo,
    /// whatever the file says; tightening the rules at run time is a publish, not a restart.
    /// </summary>
    public string? RulesFile { get; set; }
}

/// <summary>The access rules' answer for one call.</summary>
internal readonly record struct AccessVerdict(bool Allowed, string? Missing);

/// <summary>
/// Who may do what: the access rules are a Cedar policy set of their own (<c>Access/access.cedar</c>, over
/// <c>Access/access.cedarschema</c>: principal <c>Access::Caller</c>, action
/// <c>Access::Action::"&lt;operation&gt;"</c>, resource <c>Access::Target</c>), evaluated by the same engine
/// as decisions. Nothing is allowed unless a rule permits it. Operations that do not depend on their target
/// (<see cref="TargetIndependent"/>) are decided once per verified caller and operation.
/// </summary>
internal sealed partial class AccessRules
{
    [LoggerMessage(EventId = 4104, Level = LogLevel.Information, Message = "Access rules version 0 on this silo: {Source} (sha256 {Sha256}).")]
    private static partial void LogRulesInForce(ILogger logger, string source, string sha256);

    public const string CallerType = "Access::Caller";
    public const string TargetType = "Access::Target";
    public const string ActionType = "Access::Action";

    /// <summary>Operations whose rules see only the target's kind: the answer depends on the caller alone.</summary>
    public static readonly FrozenOperations TargetIndependent = new(
    [
        CallerOperations.CredentialAuthorize, CallerOperations.CredentialIntrospect, CallerOperations.TaskCreate,
        CallerOperations.AgentRegister, CallerOperations.PolicyPublish, CallerOperations.PolicyRead,
        CallerOperations.ApprovalWatch, CallerOperations.CascadeRead, CallerOperations.ClusterManage, CallerOperations.CatalogPublish, CallerOperations.CatalogRead,
        CallerOperations.AccessPublish, CallerOperations.AccessRead,
    ]);

    private static readonly Lazy<string> LazyText = new(() => Load("GrantSilo.Grains.Access.access.cedar"));
    private static readonly Lazy<string> LazySchemaText = new(() => Load("GrantSilo.Grains.Access.access.cedarschema"));
    private static readonly ConditionalWeakTable<Caller, CallerEntity> Principals = [];
    private static readonly ConcurrentDictionary<string, EntityUid> Actions = new(StringComparer.Ordinal);

    private readonly Authorizer _authorizer;

    /// <summary>Version 0: the shipped rules, or the operator's own from <see cref="AccessRulesOptions.RulesFile"/>.</summary>
    public AccessRules(IOptions<AccessRulesOptions> options, ILogger<AccessRules> logger)
        : this(Read(options.Value.RulesFile))
    {
        LogRulesInForce(logger, options.Value.RulesFile is { Length: > 0 } file ? file : "the shipped rules", Sha256);
    }

    /// <summary>Rules from a text, which must parse and validate against <see cref="SchemaText"/>; throws otherwise.</summary>
    public AccessRules(string text)
    {
        var set = PolicySet.Parse(text, PolicyIdSource.IdAnnotation);
        var validation = new PolicyValidator(CedarSchema.Parse(SchemaText)).Validate(set);
        if (validation.Errors.Count > 0)
        {
            throw new InvalidOperationException($"The access rules do not validate against the access schema: {validation.Errors[0]}");
        }
        _authorizer = new Authorizer(set);
        Source = text;
        RuleIds = [.. set.Policies.Select(p => p.Id)];
        Sha256 = HashOf(text);
    }

    /// <summary>The SHA-256 of these rules' text.</summary>
    public string Sha256 { get; }

    /// <summary>The text these rules were made from.</summary>
    public string Source { get; }

    /// <summary>The ids of the rules, in text order.</summary>
    public IReadOnlyList<string> RuleIds { get; }

    /// <summary>The SHA-256 of a rules text (UTF-8), lower-case hex.</summary>
    public static string HashOf(string text) =>
        Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(text)));

    /// <summary>The record of version 0 when these rules are it.</summary>
    public AccessRulesVersionInfo Version0(bool isActive) => new()
    {
        Version = 0,
        Author = "system",
        PublishedAt = DateTimeOffset.UnixEpoch,
        Sha256 = Sha256,
        RuleIds = RuleIds,
        IsActive = isActive,
    };

    private static string Read(string? file)
    {
        if (string.IsNullOrWhiteSpace(file))
        {
            return Text;
        }
        try
        {
            return File.ReadAllText(file);
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
            throw new OptionsValidationException(AccessRulesOptions.SectionName, typeof(AccessRulesOptions), [$"GrantSilo:Access:RulesFile '{file}' cannot be read: {exception.Message}"]);
        }
    }

    /// <summary>The shipped access rules (Cedar).</summary>
    public static string Text => LazyText.Value;

    /// <summary>Their schema (Cedar's human-readable format).</summary>
    public static string SchemaText => LazySchemaText.Value;

    public AccessVerdict Decide(Caller caller, string operation, Func<TargetFacts> target) =>
        Decide(caller, operation, target, static describe => describe());

    /// <summary>Decides; <paramref name="describe"/> is asked for the target's facts only when the operation depends on them.</summary>
    public AccessVerdict Decide<TState>(Caller caller, string operation, TState state, Func<TState, TargetFacts> describe)
    {
        var principal = Principals.GetValue(caller, static c => new CallerEntity(c));
        var independent = TargetIndependent.Contains(operation);
        if (independent && principal.TryGetCached(operation, this, out var cached))
        {
            return cached;
        }
        var facts = independent ? new TargetFacts { Kind = "", Id = "" } : describe(state);
        var resource = TargetEntity(facts);
        var action = Actions.GetOrAdd(operation, static op => new EntityUid(ActionType, op));
        var response = _authorizer.IsAuthorized(
            new AuthorizationRequest(principal.Entity.Uid, action, resource.Uid),
            new EntityStore([principal.Entity, resource]));
        var verdict = new AccessVerdict(response.IsAllowed, response.IsAllowed ? null : OperationNeeds.Describe(operation));
        if (independent)
        {
            principal.Cache(operation, this, verdict);
        }
        return verdict;
    }

    private static string Load(string name)
    {
        using var stream = typeof(AccessRules).Assembly.GetManifestResourceStream(name)
            ?? throw new InvalidOperationException($"The access rules are missing from GrantSilo.Grains (embedded resource {name}).");
        using var reader = new StreamReader(stream, System.Text.Encoding.UTF8);
        return reader.ReadToEnd();
    }

    private static Entity TargetEntity(TargetFacts facts) => new(
        new EntityUid(TargetType, $"{facts.Kind}:{facts.Id}"),
        [
            new("kind", CedarValue.FromString(facts.Kind)),
            new("id", CedarValue.FromString(facts.Id)),
            new("exists", CedarValue.FromBool(facts.Exists)),
            new("person", CedarValue.FromString(facts.Person ?? "")),
            new("orchestrator", CedarValue.FromString(facts.Orchestrator ?? "")),
            new("agent", CedarValue.FromString(facts.Agent ?? "")),
            new("chain", CedarValue.Set(facts.Chain.Select(CedarValue.FromString))),
        ]);

    /// <summary>A caller as a Cedar principal, built once per verified caller, with its cached target-independent answers.</summary>
    private sealed class CallerEntity(Caller caller)
    {
        private readonly ConcurrentDictionary<string, (AccessRules Rules, AccessVerdict Verdict)> _answers = new(StringComparer.Ordinal);

        public Entity Entity { get; } = new(
            new EntityUid(CallerType, caller.Name),
            [
                new("kind", CedarValue.FromString(caller.Kind.ToString().ToLowerInvariant())),
                new("name", CedarValue.FromString(caller.Name)),
                new("issuer", CedarValue.FromString(caller.Issuer)),
                new("roles", CedarValue.Set(caller.Roles.Select(CedarValue.FromString))),
            ]);

        public bool TryGetCached(string operation, AccessRules rules, out AccessVerdict verdict)
        {
            if (_answers.TryGetValue(operation, out var held) && ReferenceEquals(held.Rules, rules))
            {
                verdict = held.Verdict;
                return true;
            }
            verdict = default;
            return false;
        }

        public void Cache(string operation, AccessRules rules, AccessVerdict verdict) => _answers[operation] = (rules, verdict);
    }
}

/// <summary>A small read-only set of operation names.</summary>
internal sealed class FrozenOperations(IEnumerable<string> operations)
{
    private readonly System.Collections.Frozen.FrozenSet<string> _set = System.Collections.Frozen.FrozenSet.ToFrozenSet(operations, StringComparer.Ordinal);

    public bool Contains(string operation) => _set.Contains(operation);
}

/// <summary>What each operation needs under the shipped access rules, for the text of a refusal.</summary>
internal static class OperationNeeds
{
    private static readonly Dictionary<string, string> Needs = new(StringComparer.Ordinal)
    {
        [CallerOperations.AgentRegister] = "the operator role",
        [CallerOperations.AgentSuspend] = "the operator role",
        [CallerOperations.AgentResume] = "the operator role",
        [CallerOperations.AgentRetire] = "the operator role",
        [CallerOperations.AgentRead] = "to be the agent itself, or the operator, orchestrator or auditor role",
        [CallerOperations.SessionOpen] = "to be the agent itself (its workload identity token)",
        [CallerOperations.TaskCreate] = "the orchestrator role",
        [CallerOperations.TaskDelegate] = "to be the agent assigned to the parent task",
        [CallerOperations.TaskRead] = "a relation to the task (its person, its orchestrator, its agent or an agent above it) or the operator or auditor role",
        [CallerOperations.TaskReauthorize] = "to be the task's person or its orchestrator",
        [CallerOperations.TaskRevoke] = "a relation to the task (its person, its orchestrator or an agent above it) or the operator role",
        [CallerOperations.TaskComplete] = "to be the task's agent or its orchestrator",
        [CallerOperations.SessionRead] = "to be the session's agent, or the operator or auditor role",
        [CallerOperations.SessionEnd] = "to be the session's agent, or the operator role",
        [CallerOperations.CredentialIssue] = "to be the session's agent",
        [CallerOperations.CredentialRead] = "to be the credential's agent, or the operator, auditor or gateway role",
        [CallerOperations.CredentialRevoke] = "to be the credential's agent, or the operator role",
        [CallerOperations.CredentialAuthorize] = "the gateway role",
        [CallerOperations.CredentialIntrospect] = "the gateway role",
        [CallerOperations.ApprovalRead] = "to be the task's person or its agent, or the approver, operator or auditor role",
        [CallerOperations.ApprovalDecide] = "to be a person with the approver role who is the task's person or in the approvers group",
        [CallerOperations.ApprovalWatch] = "the approver, operator or auditor role",
        [CallerOperations.PolicyPublish] = "the policy-author role",
        [CallerOperations.PolicyRead] = "the policy-author, operator or auditor role",
        [CallerOperations.CascadeRead] = "the operator or auditor role",
        [CallerOperations.ClusterManage] = "the operator role",
        [CallerOperations.CatalogPublish] = "the operator role",
        [CallerOperations.CatalogRead] = "the operator, auditor, gateway or policy-author role",
        [CallerOperations.AccessPublish] = "the operator role",
        [CallerOperations.AccessRead] = "the operator, auditor or policy-author role",
        [CallerOperations.AuditRead] = "the operator or auditor role",
    };

    public static string Describe(string operation) =>
        Needs.TryGetValue(operation, out var needs) ? $"{operation} needs {needs}" : $"the access rules do not permit {operation} for this caller";
}
