using GrantSilo.Cedar.Evaluation;
using GrantSilo.Cedar.Validation;
using GrantSilo.Cedar.Values;

namespace GrantSilo.Cedar;

/// <summary>
/// Cedar's policy validator in strict mode: checks every policy of a set against a <see cref="CedarSchema"/> and
/// reports, per policy, unknown entity types, actions and attributes, optional attributes read without <c>has</c>,
/// type errors in operators, extension calls and <c>if</c> branches, scopes that no action applies to, and (as
/// warnings) policies that can never apply. Thread-safe; create one per schema.
/// </summary>
public sealed class PolicyValidator(CedarSchema schema, PolicyValidatorOptions? options = null)
{
    private readonly PolicyValidatorOptions _options = options ?? PolicyValidatorOptions.Default;

    /// <summary>The schema policies are validated against.</summary>
    public CedarSchema Schema { get; } = schema ?? throw new ArgumentNullException(nameof(schema));

    /// <summary>Validates every policy (and template) of the set.</summary>
    public ValidationResult Validate(PolicySet policySet)
    {
        ArgumentNullException.ThrowIfNull(policySet);
        var errors = new List<ValidationError>();
        var warnings = new List<ValidationWarning>();
        foreach (var policy in policySet.Policies.Where(p => p.TemplateId is null).Concat(policySet.Templates).OrderBy(p => p.Position.Offset))
        {
            ValidatePolicy(policy, errors, warnings);
        }

        foreach (var link in policySet.Policies.Where(p => p.TemplateId is not null))
        {
            ValidateLink(link, errors, warnings);
        }

        return new ValidationResult(errors, warnings);
    }

    /// <summary>
    /// A template-linked policy: its template is type-checked for every possible slot value, so what remains is that the
    /// slot values are declared and that some action still applies to the linked scope.
    /// </summary>
    private void ValidateLink(Policy link, List<ValidationError> errors, List<ValidationWarning> warnings)
    {
        var report = new ValidationReporter(link);
        foreach (var value in new[] { link.LinkedPrincipal, link.LinkedResource })
        {
            if (value is not null && !Schema.IsKnownEntityType(value.Type))
            {
                report.Error(ValidationErrorCode.UnrecognizedEntityType, link.Position.Offset, $"slot value {value} of link `{link.Id}` has entity type `{value.Type}`, which the schema does not declare");
            }
            else if (value is not null && Schema.TryGetEntityType(value.Type, out var et) && et.EnumChoices is { } choices && !choices.Contains(value.Id, StringComparer.Ordinal))
            {
                report.Error(ValidationErrorCode.InvalidEnumEntity, link.Position.Offset, $"slot value {value} of link `{link.Id}` is not one of the declared ids of `{value.Type}`");
            }
        }

        CheckActionApplication(link, report, link.Position.Offset);
        errors.AddRange(report.Errors);
        warnings.AddRange(report.Warnings);
    }

    /// <summary>Validates one policy.</summary>
    public ValidationResult Validate(Policy policy)
    {
        ArgumentNullException.ThrowIfNull(policy);
        var errors = new List<ValidationError>();
        var warnings = new List<ValidationWarning>();
        ValidatePolicy(policy, errors, warnings);
        return new ValidationResult(errors, warnings);
    }

    private void ValidatePolicy(Policy policy, List<ValidationError> errors, List<ValidationWarning> warnings)
    {
        var report = new ValidationReporter(policy);
        var policyOffset = policy.Position.Offset;
        CheckNames(policy, report);
        CheckActionApplication(policy, report, policyOffset);

        var condition = Condition(policy);
        var allFalse = true;

        // Environments whose action the scope excludes type the condition as false without checking anything else
        // (the principal scope never reports errors), so they are skipped when every scope action is declared.
        var scopeActions = policy.ActionScope switch
        {
            EqConstraint eq => Schema.IsActionDeclared(eq.Target) ? new HashSet<EntityUid>([eq.Target]) : null,
            InConstraint inC => Schema.ActionsIn([inC.Target])?.ToHashSet(),
            InSetConstraint set => Schema.ActionsIn(set.Targets)?.ToHashSet(),
            _ => null,
        };
        // When the conditions never read `action`, environments that differ only in the action (with the same context
        // type) type-check identically once the action scope has been passed, so each shape is checked once.
        var usesAction = policy.Conditions.Any(c => Mentions(c.Body, Variable.Action));
        var checkedShapes = new HashSet<(string, string, StaticType)>();
        foreach (var env in Schema.Environments)
        {
            if (scopeActions is not null && !scopeActions.Contains(env.Action.Uid))
            {
                continue;
            }

            if (!usesAction && (scopeActions is not null || policy.ActionScope is not (EqConstraint or InConstraint or InSetConstraint)) &&
                !checkedShapes.Add((env.Principal, env.Resource, env.Action.Context)))
            {
                continue;
            }

            foreach (var principalSlot in SlotTypes(policy.PrincipalScope, env.Principal))
            {
                foreach (var resourceSlot in SlotTypes(policy.ResourceScope, env.Resource))
                {
                    var checker = new Typechecker(Schema, env, report, principalSlot, resourceSlot);
                    var answer = checker.Check(condition, Capabilities.None);
                    if (answer.Type is not { BoolKind: BoolKind.False })
                    {
                        allFalse = false;
                    }
                }
            }
        }

        errors.AddRange(report.Errors);
        warnings.AddRange(report.Warnings);
        if (allFalse)
        {
            warnings.Add(new ValidationWarning(
                policy.Id,
                ValidationWarningCode.ImpossiblePolicy,
                policy.Position,
                "this policy can never apply: it is false for every principal, action and resource the schema allows"));
        }
    }

    /// <summary>The entity types a slot may be linked to in an environment whose variable has type <paramref name="varType"/>.</summary>
    private IEnumerable<string?> SlotTypes(ScopeConstraint scope, string varType)
    {
        if (scope is not SlotConstraint slot)
        {
            return [null];
        }

        if (!slot.IsIn)
        {
            return [varType];
        }

        return Schema.EntityTypeDefinitions.Where(t => t.Descendants.Contains(varType)).Select(t => (string?)t.Name).Append(varType);
    }

    /// <summary>Entity types, enumerated ids and action ids named anywhere in the policy must be declared.</summary>
    private void CheckNames(Policy policy, ValidationReporter report)
    {
        var uids = new List<(EntityUid Uid, int Offset)>();
        var types = new List<(string Type, int Offset)>();
        var scopes = new[]
        {
            (policy.PrincipalScope, policy.ScopeOffsets.Principal),
            (policy.ActionScope, policy.ScopeOffsets.Action),
            (policy.ResourceScope, policy.ScopeOffsets.Resource),
        };
        foreach (var (scope, scopeOffset) in scopes)
        {
            var offset = scopeOffset >= 0 ? scopeOffset : policy.Position.Offset;
            switch (scope)
            {
                case EqConstraint eq:
                    uids.Add((eq.Target, offset));
                    break;
                case InConstraint inC:
                    uids.Add((inC.Target, offset));
                    break;
                case InSetConstraint set:
                    uids.AddRange(set.Targets.Select(t => (t, offset)));
                    break;
                case SlotConstraint { IsType: { } slotType }:
                    types.Add((slotType, offset));
                    break;
                case IsConstraint isC:
                    types.Add((isC.EntityType, offset));
                    if (isC.InTarget is { } target)
                    {
                        uids.Add((target, offset));
                    }

                    break;
            }
        }

        foreach (var c in policy.Conditions)
        {
            Collect(c.Body, uids, types);
        }

        types.AddRange(uids.Select(u => (u.Uid.Type, u.Offset)));
        foreach (var (type, at) in types)
        {
            if (!Schema.IsKnownEntityType(type))
            {
                var suggestion = Schema.EntityTypes.FirstOrDefault(t => string.Equals(t, type, StringComparison.OrdinalIgnoreCase) || t.EndsWith("::" + type, StringComparison.Ordinal));
                report.Error(
                    ValidationErrorCode.UnrecognizedEntityType,
                    at,
                    $"entity type `{type}` is not declared in the schema" + (suggestion is null ? string.Empty : $"; did you mean `{suggestion}`?"));
            }
        }

        foreach (var (uid, at) in uids)
        {
            if (CedarSchema.IsActionType(uid.Type))
            {
                if (!Schema.IsActionDeclared(uid))
                {
                    report.Error(ValidationErrorCode.UnrecognizedActionId, at, $"action {uid} is not declared in the schema");
                }
            }
            else if (Schema.TryGetEntityType(uid.Type, out var et) && et.EnumChoices is { } choices && !choices.Contains(uid.Id, StringComparer.Ordinal))
            {
                report.Error(
                    ValidationErrorCode.InvalidEnumEntity,
                    at,
                    $"{uid} is not one of the declared ids of enumerated entity type `{uid.Type}` ({string.Join(", ", choices.Select(c => CedarValue.Quote(c)))})");
            }
        }
    }

    /// <summary>Whether the expression reads the variable anywhere.</summary>
    private static bool Mentions(Expr e, Variable variable) => e switch
    {
        VarExpr v => v.Variable == variable,
        LiteralExpr { Unfolded: { } u } => Mentions(u, variable),
        ErrorExpr { Unfolded: { } u } => Mentions(u, variable),
        LogicExpr l => l.Operands.Any(o => Mentions(o, variable)),
        NotExpr n => Mentions(n.Operand, variable),
        NegExpr n => Mentions(n.Operand, variable),
        IfExpr i => Mentions(i.Condition, variable) || Mentions(i.Then, variable) || Mentions(i.Otherwise, variable),
        BinaryExpr b => Mentions(b.Left, variable) || Mentions(b.Right, variable),
        GetAttrExpr g => Mentions(g.Target, variable),
        HasAttrExpr h => Mentions(h.Target, variable),
        LikeExpr l => Mentions(l.Target, variable),
        IsExpr i => Mentions(i.Target, variable) || (i.InExpr is { } x && Mentions(x, variable)),
        IsEmptyExpr i => Mentions(i.Target, variable),
        SetExpr s => s.Items.Any(x => Mentions(x, variable)),
        RecordExpr r => r.Values.Any(x => Mentions(x, variable)),
        ExtensionCallExpr c => c.Args.Any(x => Mentions(x, variable)),
        _ => false,
    };

    private static void Collect(Expr e, List<(EntityUid, int)> uids, List<(string, int)> types)
    {
        switch (e)
        {
            case LiteralExpr { Unfolded: { } u }:
                Collect(u, uids, types);
                break;
            case ErrorExpr { Unfolded: { } u }:
                Collect(u, uids, types);
                break;
            case LiteralExpr { Value: EntityUid uid } lit:
                uids.Add((uid, lit.Offset));
                break;
            case LogicExpr l:
                foreach (var o in l.Operands)
                {
                    Collect(o, uids, types);
                }

                break;
            case NotExpr n:
                Collect(n.Operand, uids, types);
                break;
            case NegExpr n:
                Collect(n.Operand, uids, types);
                break;
            case IfExpr i:
                Collect(i.Condition, uids, types);
                Collect(i.Then, uids, types);
                Collect(i.Otherwise, uids, types);
                break;
            case BinaryExpr b:
                Collect(b.Left, uids, types);
                Collect(b.Right, uids, types);
                break;
            case GetAttrExpr g:
                Collect(g.Target, uids, types);
                break;
            case HasAttrExpr h:
                Collect(h.Target, uids, types);
                break;
            case LikeExpr l:
                Collect(l.Target, uids, types);
                break;
            case IsExpr i:
                types.Add((i.EntityType, i.Offset));
                Collect(i.Target, uids, types);
                if (i.InExpr is { } inExpr)
                {
                    Collect(inExpr, uids, types);
                }

                break;
            case IsEmptyExpr i:
                Collect(i.Target, uids, types);
                break;
            case SetExpr s:
                foreach (var item in s.Items)
                {
                    Collect(item, uids, types);
                }

                break;
            case RecordExpr r:
                foreach (var v in r.Values)
                {
                    Collect(v, uids, types);
                }

                break;
            case ExtensionCallExpr c:
                foreach (var a in c.Args)
                {
                    Collect(a, uids, types);
                }

                break;
        }
    }

    /// <summary>Some action in the scope must apply to some principal type and some resource type the scope allows.</summary>
    private void CheckActionApplication(Policy policy, ValidationReporter report, int offset)
    {
        var actions = ActionsOf(policy.ActionScope);
        var principals = TypesOf(policy.PrincipalScope);
        var resources = TypesOf(policy.ResourceScope);
        foreach (var action in actions)
        {
            if (Schema.TryGetAction(action, out var a) && a.Principals.Any(principals.Contains) && a.Resources.Any(resources.Contains))
            {
                return;
            }
        }

        var message = "no action in this policy's scope applies to the principal and resource types its scope allows; check the actions' `appliesTo` in the schema" +
            ActionApplicationHint(policy, actions);
        if (_options.InapplicableActionIsError)
        {
            report.Error(ValidationErrorCode.InvalidActionApplication, offset, message);
        }
        else
        {
            report.Warning(ValidationWarningCode.InvalidActionApplication, offset, message);
        }
    }

    private string ActionApplicationHint(Policy policy, List<EntityUid> actions)
    {
        var specs = actions.Select(a => Schema.TryGetAction(a, out var s) ? s : null).OfType<SchemaAction>().ToList();
        bool Fixes(ScopeConstraint scope, Func<SchemaAction, string[]> select) =>
            scope is EqConstraint eq &&
            !specs.Any(s => select(s).Contains(eq.Target.Type)) &&
            Schema.TryGetEntityType(eq.Target.Type, out var et) &&
            specs.Any(s => select(s).Any(et.Descendants.Contains));
        var hints = new List<string>();
        if (Fixes(policy.PrincipalScope, s => s.Principals))
        {
            hints.Add("`principal in` instead of `principal ==`");
        }

        if (Fixes(policy.ResourceScope, s => s.Resources))
        {
            hints.Add("`resource in` instead of `resource ==`");
        }

        return hints.Count == 0 ? string.Empty : "; try " + string.Join(" and ", hints);
    }

    private List<EntityUid> ActionsOf(ScopeConstraint scope) => scope switch
    {
        EqConstraint eq => [eq.Target],
        InConstraint inC => Schema.ActionsIn([inC.Target]) ?? [],
        InSetConstraint set => Schema.ActionsIn(set.Targets) ?? [],
        _ => [.. Schema.Actions],
    };

    private HashSet<string> TypesOf(ScopeConstraint scope) => scope switch
    {
        EqConstraint eq => new HashSet<string>([eq.Target.Type], StringComparer.Ordinal),
        InConstraint inC => new HashSet<string>(Schema.TypesIn(inC.Target.Type), StringComparer.Ordinal),
        SlotConstraint { IsType: { } t } => Schema.IsEntityTypeDeclared(t) ? new HashSet<string>([t], StringComparer.Ordinal) : [],
        IsConstraint { InTarget: null } isC => Schema.IsEntityTypeDeclared(isC.EntityType) ? new HashSet<string>([isC.EntityType], StringComparer.Ordinal) : [],
        IsConstraint isC => new HashSet<string>(Schema.TypesIn(isC.InTarget!.Type).Where(t => t == isC.EntityType), StringComparer.Ordinal),
        _ => new HashSet<string>(Schema.EntityTypes, StringComparer.Ordinal),
    };

    /// <summary>The policy as one boolean expression, shaped as Cedar's: <c>principal &amp;&amp; (action &amp;&amp; (resource &amp;&amp; conditions))</c>.</summary>
    internal static Expr Condition(Policy policy)
    {
        var offset = policy.Position.Offset;
        T At<T>(T e)
            where T : Expr
        {
            e.Offset = offset;
            return e;
        }

        Expr Scope(ScopeConstraint scope, Variable v) => scope switch
        {
            EqConstraint eq => At(new BinaryExpr(BinaryOp.Eq, At(new VarExpr(v)), At(new LiteralExpr(eq.Target)))),
            InConstraint inC when v == Variable.Action => At(new BinaryExpr(BinaryOp.In, At(new VarExpr(v)), At(new SetExpr([At(new LiteralExpr(inC.Target))])))),
            InConstraint inC => At(new BinaryExpr(BinaryOp.In, At(new VarExpr(v)), At(new LiteralExpr(inC.Target)))),
            InSetConstraint set => At(new BinaryExpr(BinaryOp.In, At(new VarExpr(v)), At(new SetExpr([.. set.Targets.Select(t => (Expr)At(new LiteralExpr(t)))])))),
            SlotConstraint slot when slot.IsType is { } t => At(new IsExpr(At(new VarExpr(v)), t, At(new SlotExpr(v)))),
            SlotConstraint slot => At(new BinaryExpr(slot.IsIn ? BinaryOp.In : BinaryOp.Eq, At(new VarExpr(v)), At(new SlotExpr(v)))),
            IsConstraint isC => At(new IsExpr(At(new VarExpr(v)), isC.EntityType, isC.InTarget is { } t ? At(new LiteralExpr(t)) : null)),
            _ => At(new LiteralExpr(BoolValue.True)),
        };

        Expr? body = null;
        for (var i = policy.Conditions.Count - 1; i >= 0; i--)
        {
            var c = policy.Conditions[i];
            var e = c.IsWhen ? c.Body : At(new NotExpr(c.Body));
            body = body is null ? e : At(new LogicExpr([e, body], isAnd: true));
        }

        body ??= At(new LiteralExpr(BoolValue.True));
        var resource = At(new LogicExpr([Scope(policy.ResourceScope, Variable.Resource), body], isAnd: true));
        var action = At(new LogicExpr([Scope(policy.ActionScope, Variable.Action), resource], isAnd: true));
        return At(new LogicExpr([Scope(policy.PrincipalScope, Variable.Principal), action], isAnd: true));
    }
}
