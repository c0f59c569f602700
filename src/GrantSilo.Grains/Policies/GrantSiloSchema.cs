using System.Text;
using GrantSilo.Cedar;

namespace GrantSilo.Grains.Policies;

/// <summary>
/// The Cedar schema GrantSilo ships (<c>Policies/grantsilo.cedarschema</c>, embedded): exactly what a
/// decision gives Cedar. It is schema version 0, and every published policy set is validated against the
/// active schema version before it can reach a silo.
/// </summary>
public static class GrantSiloSchema
{
    private static readonly Lazy<string> LazyText = new(Load);
    private static readonly Lazy<CedarSchema> LazySchema = new(() => CedarSchema.Parse(Text));

    /// <summary>The schema text (Cedar's human-readable schema format).</summary>
    public static string Text => LazyText.Value;

    /// <summary>The shipped schema, parsed.</summary>
    public static CedarSchema Schema => LazySchema.Value;

    /// <summary>Version 0's record.</summary>
    public static SchemaVersionInfo Info(bool isActive) => new()
    {
        Version = 0,
        Author = "system",
        PublishedAt = DateTimeOffset.UnixEpoch,
        Sha256 = PolicyText.Sha256(Text),
        IsActive = isActive,
    };

    /// <summary>
    /// What an extended schema must still declare, so every decision GrantSilo builds fits it: the
    /// built-in entity types, the decision context and the built-in actions. Null when it does; otherwise
    /// what is missing, as a message an operator can act on.
    /// </summary>
    internal static string? MissingDeclarations(CedarSchema candidate)
    {
        foreach (var type in Schema.EntityTypes)
        {
            if (!candidate.IsEntityTypeDeclared(type))
            {
                return $"entity type {type} is not declared; GrantSilo's decisions use it.";
            }
        }
        foreach (var action in Schema.Actions)
        {
            if (!candidate.IsActionDeclared(action))
            {
                return $"action {action} is not declared; GrantSilo's decisions use it.";
            }
        }
        // A representative decision must fit the candidate exactly as it fits the shipped schema.
        var (request, entities) = SampleDecision();
        var violations = candidate.ValidateRequest(request);
        if (violations.Count > 0)
        {
            return $"a decision's request does not fit it: {violations[0]}";
        }
        var entityViolations = candidate.ValidateEntities(entities.Entities);
        return entityViolations.Count > 0 ? $"a decision's entities do not fit it: {entityViolations[0]}" : null;
    }

    private static (AuthorizationRequest Request, EntityStore Entities) SampleDecision()
    {
        var now = DateTimeOffset.UnixEpoch;
        return CedarRequestBuilder.Build(new Decisions.AccessFacts
        {
            CredentialId = "c",
            TaskId = "t",
            RootTaskId = "t",
            Agent = "spiffe://example.org/agent",
            RootPerson = "person",
            DelegationDepth = 0,
            Action = "read",
            Resource = new ResourceRef { Type = "doc", Path = "a", Classification = DataClassification.Internal },
            Now = now,
            SessionStartedAt = now,
            CredentialIssuedAt = now,
            AgentOwner = "person",
            AgentAttributes = new Dictionary<string, string>(),
            AgentGroups = [],
        }, "standard");
    }

    private static string Load()
    {
        using var stream = typeof(GrantSiloSchema).Assembly.GetManifestResourceStream("GrantSilo.Grains.Policies.grantsilo.cedarschema")
            ?? throw new InvalidOperationException("The GrantSilo schema is missing from GrantSilo.Grains (embedded resource GrantSilo.Grains.Policies.grantsilo.cedarschema).");
        using var reader = new StreamReader(stream, Encoding.UTF8);
        return reader.ReadToEnd();
    }
}
