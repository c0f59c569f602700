using GrantSilo.Cedar.Evaluation;

namespace GrantSilo.Cedar;

/// <summary>Whether a policy permits or forbids.</summary>
public enum PolicyEffect
{
    /// <summary>A <c>permit</c> policy.</summary>
    Permit,
    /// <summary>A <c>forbid</c> policy.</summary>
    Forbid,
}

/// <summary>One compiled policy of a <see cref="PolicySet"/>, with its id and annotations.</summary>
public sealed class Policy
{
    private readonly ScopeConstraint _principal;
    private readonly ScopeConstraint _action;
    private readonly ScopeConstraint _resource;
    private readonly Condition[] _conditions;

    internal Policy(
        string id,
        PolicyEffect effect,
        IReadOnlyDictionary<string, string> annotations,
        SourcePosition position,
        string text,
        ScopeConstraint principal,
        ScopeConstraint action,
        ScopeConstraint resource,
        Condition[] conditions)
    {
        Id = id;
        Effect = effect;
        Annotations = annotations;
        Position = position;
        Text = text;
        _principal = principal;
        _action = action;
        _resource = resource;
        _conditions = conditions;
        (Cost, ExpressionNodes) = Limits.CostModel.Of(this);
    }

    /// <summary>The policy id: <c>policy0</c>, <c>policy1</c>, ... in source order, or the <c>@id</c> annotation when the set was parsed with <see cref="PolicyIdSource.IdAnnotation"/>.</summary>
    public string Id { get; internal set; }

    /// <summary>Permit or forbid.</summary>
    public PolicyEffect Effect { get; }

    /// <summary>All annotations in source order; an annotation written without a value (<c>@foo</c>) has the value "".</summary>
    public IReadOnlyDictionary<string, string> Annotations { get; }

    /// <summary>The value of the <c>@id</c> annotation, if present.</summary>
    public string? IdAnnotation => Annotations.TryGetValue("id", out var v) ? v : null;

    /// <summary>Where the policy starts in the policy set text.</summary>
    public SourcePosition Position { get; }

    /// <summary>The policy's source text.</summary>
    public string Text { get; }

    /// <inheritdoc />
    public override string ToString() => Id;

    /// <summary>True when satisfied, false when not, null (with <c>ctx.Error</c> set) when evaluation failed.</summary>
    /// <summary>True for a template: a policy with a <c>?principal</c> or <c>?resource</c> slot, which applies only once linked.</summary>
    public bool IsTemplate => _principal is SlotConstraint || _resource is SlotConstraint;

    /// <summary>The template this policy was linked from, or null for a static policy or a template.</summary>
    public string? TemplateId { get; private init; }

    /// <summary>The value linked to <c>?principal</c>, if this policy was linked from a template with that slot.</summary>
    public EntityUid? LinkedPrincipal { get; private init; }

    /// <summary>The value linked to <c>?resource</c>, if this policy was linked from a template with that slot.</summary>
    public EntityUid? LinkedResource { get; private init; }

    internal bool HasPrincipalSlot => _principal is SlotConstraint;

    internal bool HasResourceSlot => _resource is SlotConstraint;

    /// <summary>A copy of this template with its slots filled; the compiled conditions are shared.</summary>
    internal Policy Link(string linkId, EntityUid? principal, EntityUid? resource) =>
        new(
            linkId,
            Effect,
            Annotations,
            Position,
            Text,
            _principal is SlotConstraint ps ? ps.Link(principal!) : _principal,
            _action,
            _resource is SlotConstraint rs ? rs.Link(resource!) : _resource,
            _conditions)
        {
            TemplateId = Id,
            LinkedPrincipal = principal,
            LinkedResource = resource,
            ScopeOffsets = ScopeOffsets,
        };

    /// <summary>
    /// Estimated evaluation cost in abstract units (one per expression node; more for <c>like</c>, <c>in</c>, set and
    /// extension operations). <see cref="PolicyLimits"/> bounds it; <see cref="AuthorizerOptions.EvaluationBudget"/> charges it.
    /// </summary>
    public long Cost { get; }

    /// <summary>The number of expression nodes in the conditions.</summary>
    public int ExpressionNodes { get; }

    /// <summary>Where the principal, action and resource scopes start in the policy set text (for validation errors).</summary>
    internal (int Principal, int Action, int Resource) ScopeOffsets { get; init; } = (-1, -1, -1);

    internal ScopeConstraint PrincipalScope => _principal;

    internal ScopeConstraint ActionScope => _action;

    internal ScopeConstraint ResourceScope => _resource;

    internal IReadOnlyList<Condition> Conditions => _conditions;

    internal bool? Evaluate(EvalContext ctx)
    {
        if (!_principal.Matches(ctx.Principal, ctx.Entities) ||
            !_action.Matches(ctx.Action, ctx.Entities) ||
            !_resource.Matches(ctx.Resource, ctx.Entities))
        {
            return false;
        }

        foreach (var condition in _conditions)
        {
            var v = condition.Body.Eval(ctx);
            if (v is null)
            {
                return null;
            }

            if (v is not Values.BoolValue b)
            {
                ctx.TypeError(condition.IsWhen ? "when" : "unless", "bool", v);
                return null;
            }

            if (b.Value != condition.IsWhen)
            {
                return false;
            }
        }

        return true;
    }
}

/// <summary>A <c>when</c> or <c>unless</c> clause.</summary>
internal sealed record Condition(bool IsWhen, Expr Body);

/// <summary>A pre-resolved scope constraint on principal, action or resource.</summary>
internal abstract class ScopeConstraint
{
    public static readonly ScopeConstraint Any = new AnyConstraint();

    public abstract bool Matches(EntityUid uid, EntityStore entities);

    private sealed class AnyConstraint : ScopeConstraint
    {
        public override bool Matches(EntityUid uid, EntityStore entities) => true;
    }
}

internal sealed class EqConstraint(EntityUid target) : ScopeConstraint
{
    public EntityUid Target => target;

    public override bool Matches(EntityUid uid, EntityStore entities) => uid.Equals(target);
}

internal sealed class InConstraint(EntityUid target) : ScopeConstraint
{
    public EntityUid Target => target;

    public override bool Matches(EntityUid uid, EntityStore entities) =>
        uid.Equals(target) || entities.AncestorsOf(uid).Contains(target);
}

internal sealed class InSetConstraint(EntityUid[] targets) : ScopeConstraint
{
    public EntityUid[] Targets => targets;

    public override bool Matches(EntityUid uid, EntityStore entities)
    {
        HashSet<EntityUid>? ancestors = null;
        foreach (var t in targets)
        {
            if (uid.Equals(t))
            {
                return true;
            }

            ancestors ??= entities.AncestorsOf(uid);
            if (ancestors.Contains(t))
            {
                return true;
            }
        }

        return false;
    }
}

/// <summary>A template slot in a scope: <c>== ?slot</c>, <c>in ?slot</c> or <c>is T in ?slot</c>. Never matches until linked.</summary>
internal sealed class SlotConstraint(bool isIn, string? isType) : ScopeConstraint
{
    public bool IsIn => isIn;

    public string? IsType => isType;

    public override bool Matches(EntityUid uid, EntityStore entities) => false;

    public ScopeConstraint Link(EntityUid value) =>
        isType is not null ? new IsConstraint(isType, value) : isIn ? new InConstraint(value) : new EqConstraint(value);
}

internal sealed class IsConstraint(string entityType, EntityUid? inTarget) : ScopeConstraint
{
    public string EntityType => entityType;

    public EntityUid? InTarget => inTarget;

    public override bool Matches(EntityUid uid, EntityStore entities) =>
        string.Equals(uid.Type, entityType, StringComparison.Ordinal) &&
        (inTarget is null || uid.Equals(inTarget) || entities.AncestorsOf(uid).Contains(inTarget));
}
