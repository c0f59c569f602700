using GrantSilo.Cedar.Values;

namespace GrantSilo.Cedar.Evaluation;

/// <summary>Per-request evaluation state. Expressions return null on error and leave the message in <see cref="Error"/>.</summary>
internal sealed class EvalContext(EntityUid principal, EntityUid action, EntityUid resource, RecordValue context, EntityStore entities)
{
    public EntityUid Principal { get; } = principal;

    public EntityUid Action { get; } = action;

    public EntityUid Resource { get; } = resource;

    public RecordValue Context { get; } = context;

    public EntityStore Entities { get; } = entities;

    public string? Error { get; set; }

    /// <summary>What is left of the evaluation budget; negative once it is exceeded.</summary>
    public long Remaining { get; set; } = long.MaxValue;

    public CedarValue? Fail(string message)
    {
        Error = message;
        return null;
    }

    public CedarValue? TypeError(string op, string expected, CedarValue actual) =>
        Fail($"type error: `{op}` expected {expected}, got {CedarValue.TypeName(actual)}");
}
