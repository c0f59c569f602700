using GrantSilo.Policy.Values;

namespace GrantSilo.Policy.Evaluation;

/// <summary>Per-request evaluation state. Expressions return null on error and leave the message in <see cref="Error"/>.</summary>
internal sealed class EvalContext(EntityUid principal, EntityUid action, EntityUid resource, RecordValue context, EntityStore entities)
{
    public EntityUid Principal { get; } = principal;

    public EntityUid Action { get; } = action;

    public EntityUid Resource { get; } = resource;

    public RecordValue Context { get; } = context;

    public EntityStore Entities { get; } = entities;

    public string? Error { get; set; }

    /// <summary>Evaluation units left for this request (see <see cref="Policy.Cost"/>).</summary>
    public long Remaining { get; set; } = long.MaxValue;

    /// <summary>True once a request ran out of its budget; its decision must fail closed.</summary>
    public bool BudgetExceeded { get; private set; }

    /// <summary>Spends <paramref name="units"/> of the budget; false (with an error) when there are not that many left.</summary>
    public bool Spend(long units)
    {
        if (units <= Remaining)
        {
            Remaining -= units;
            return true;
        }

        Remaining = 0;
        BudgetExceeded = true;
        Error = "evaluation budget exceeded";
        return false;
    }

    public CedarValue? Fail(string message)
    {
        Error = message;
        return null;
    }

    public CedarValue? TypeError(string op, string expected, CedarValue actual) =>
        Fail($"type error: `{op}` expected {expected}, got {CedarValue.TypeName(actual)}");
}
