using System.Runtime.CompilerServices;
using GrantSilo.Cedar.Evaluation;
using GrantSilo.Cedar.Values;

namespace GrantSilo.Cedar.Validation;

/// <summary>
/// The result of type-checking an expression: its type (null when unknown after an error), whether it type-checked,
/// and the capabilities it establishes when true (attributes and tags proven present by <c>has</c>/<c>hasTag</c>).
/// </summary>
internal readonly record struct Answer(StaticType? Type, bool Ok, Capabilities Caps)
{
    public static Answer Success(StaticType type, Capabilities? caps = null) => new(type, true, caps ?? Capabilities.None);

    public static Answer Fail(StaticType? type = null) => new(type, false, Capabilities.None);

    /// <summary>Cedar's "then": the continuation runs even after a failure (to report more errors) but the result stays failed.</summary>
    public Answer Then(Func<StaticType?, Capabilities, Answer> next)
    {
        if (Ok)
        {
            return next(Type, Caps);
        }

        var r = next(Type, Capabilities.None);
        return r with { Ok = false, Caps = Capabilities.None };
    }
}

/// <summary>An immutable set of capabilities, keyed by the structural form of the expression and attribute or tag.</summary>
internal sealed class Capabilities
{
    public static readonly Capabilities None = new([]);

    private readonly HashSet<string> _keys;

    private Capabilities(HashSet<string> keys) => _keys = keys;

    public static Capabilities Of(string key) => new([key]);

    public bool Contains(string key) => _keys.Contains(key);

    public Capabilities Union(Capabilities other)
    {
        if (other._keys.Count == 0 || ReferenceEquals(this, other))
        {
            return this;
        }

        if (_keys.Count == 0)
        {
            return other;
        }

        var s = new HashSet<string>(_keys, StringComparer.Ordinal);
        s.UnionWith(other._keys);
        return new Capabilities(s);
    }

    public Capabilities Intersect(Capabilities other)
    {
        if (_keys.Count == 0 || other._keys.Count == 0)
        {
            return None;
        }

        var s = new HashSet<string>(_keys, StringComparer.Ordinal);
        s.IntersectWith(other._keys);
        return new Capabilities(s);
    }
}

/// <summary>
/// Type-checks one policy condition under one request environment, following Cedar's strict validator: singleton
/// boolean types drive short-circuiting (a branch that can never run is not checked), <c>has</c> and <c>hasTag</c>
/// establish capabilities for the attribute and tag reads they guard, and entity types must match exactly.
/// </summary>
internal sealed class Typechecker(CedarSchema schema, RequestEnvironment env, ValidationReporter report, string? principalSlot = null, string? resourceSlot = null)
{
    private static readonly StaticType[] EntityOrRecord = [StaticType.AnyEntity, StaticType.AnyRecord];
    private static readonly StaticType[] EntityOrEntitySet = [StaticType.SetOf(StaticType.AnyEntity), StaticType.AnyEntity];
    private static readonly StaticType[] ComparableTypes = [StaticType.Long, StaticType.Extension("datetime"), StaticType.Extension("duration")];

    public Answer Check(Expr e, Capabilities prior)
    {
        if (!RuntimeHelpers.TryEnsureSufficientExecutionStack())
        {
            report.Error(ValidationErrorCode.ExpressionTooDeep, e, "the expression is nested too deeply to validate; simplify it");
            return Answer.Fail();
        }

        switch (e)
        {
            case LiteralExpr { Unfolded: { } unfolded }:
                return Check(unfolded, prior);
            case ErrorExpr { Unfolded: { } unfolded }:
                return Check(unfolded, prior);
            case ErrorExpr err:
                report.Error(ValidationErrorCode.FunctionArgumentValidation, e, err.Message);
                return Answer.Fail();
            case LiteralExpr lit:
                return CheckLiteral(lit.Value);
            case SlotExpr slot:
                var slotType = slot.Variable == Variable.Principal ? principalSlot : resourceSlot;
                return Answer.Success(slotType is null ? StaticType.AnyEntity : StaticType.Entity(slotType));
            case VarExpr v:
                return v.Variable switch
                {
                    Variable.Principal => Answer.Success(env.PrincipalType),
                    Variable.Resource => Answer.Success(env.ResourceType),
                    Variable.Action => Answer.Success(StaticType.Entity(env.Action.Uid.Type)),
                    _ => Answer.Success(env.Action.Context),
                };
            case LogicExpr logic:
                {
                    var ans = ExpectBool(logic.Operands[0], prior);
                    for (var i = 1; i < logic.Operands.Length; i++)
                    {
                        var right = logic.Operands[i];
                        ans = logic.IsAnd ? And(ans, prior, right) : Or(ans, prior, right);
                    }

                    return ans;
                }

            case NotExpr not:
                return Not(ExpectBool(not.Operand, prior));
            case NegExpr neg:
                return Expect(neg.Operand, prior, StaticType.Long, static () => "`-`").Then((_, _) => Answer.Success(StaticType.Long));
            case IfExpr ite:
                return CheckIf(ite, prior);
            case BinaryExpr bin:
                return CheckBinary(bin, prior);
            case GetAttrExpr get:
                return CheckGetAttr(get, prior);
            case HasAttrExpr has:
                return CheckHasAttr(has, prior);
            case LikeExpr like:
                return Expect(like.Target, prior, StaticType.String, static () => "`like`").Then((_, _) => Answer.Success(StaticType.Bool));
            case IsExpr isExpr:
                {
                    var isAns = CheckIs(isExpr, prior);
                    if (isExpr.InExpr is not { } inExpr)
                    {
                        return isAns;
                    }

                    return And(isAns, prior, inExpr, isExpr);
                }

            case IsEmptyExpr isEmpty:
                return Expect(isEmpty.Target, prior, StaticType.AnySet, static () => "`isEmpty`").Then((_, _) => Answer.Success(StaticType.Bool));
            case SetExpr set:
                return CheckSet(set, prior);
            case RecordExpr rec:
                return CheckRecord(rec, prior);
            case ExtensionCallExpr call:
                return CheckExtensionCall(call, prior);
            default:
                report.Error(ValidationErrorCode.UnexpectedType, e, "unsupported expression");
                return Answer.Fail();
        }
    }

    private Answer CheckLiteral(CedarValue v)
    {
        switch (v)
        {
            case BoolValue b:
                return Answer.Success(StaticType.Singleton(b.Value));
            case LongValue:
                return Answer.Success(StaticType.Long);
            case StringValue:
                return Answer.Success(StaticType.String);
            case EntityUid uid:
                if (CedarSchema.IsActionType(uid.Type))
                {
                    return schema.IsActionDeclared(uid) ? Answer.Success(StaticType.Entity(uid.Type)) : Answer.Fail();
                }

                // Unknown entity types were already reported by the policy-level check.
                return schema.IsEntityTypeDeclared(uid.Type) ? Answer.Success(StaticType.Entity(uid.Type)) : Answer.Fail();
            default:
                return Answer.Fail();
        }
    }

    /// <summary>
    /// <c>left &amp;&amp; right</c>: a right side after a left side typed false is never checked; the right side is checked
    /// with the left side's capabilities. <paramref name="isIn"/> stands for the right side <c>target in x</c> of
    /// <c>target is T in x</c>. Written without closures: it is on every policy's path several times.
    /// </summary>
    private Answer And(Answer left, Capabilities prior, Expr right, IsExpr? isIn = null)
    {
        var lt = left.Type;
        var lcaps = left.Ok ? left.Caps : Capabilities.None;
        Answer result;
        if (lt is { BoolKind: BoolKind.False })
        {
            result = Answer.Success(StaticType.False);
        }
        else
        {
            var r = isIn is null ? ExpectBool(right, prior.Union(lcaps)) : CheckIn(isIn.Target, isIn.InExpr!, isIn, prior.Union(lcaps));
            var rt = r.Type;
            var rcaps = r.Ok ? r.Caps : Capabilities.None;
            if (lt is null || rt is null)
            {
                result = Answer.Fail(StaticType.Bool);
            }
            else if (rt.BoolKind == BoolKind.False)
            {
                result = Answer.Success(StaticType.False);
            }
            else if (rt.BoolKind == BoolKind.True)
            {
                result = Answer.Success(lt, lcaps.Union(rcaps));
            }
            else if (lt.BoolKind == BoolKind.True)
            {
                result = Answer.Success(rt, rcaps);
            }
            else
            {
                result = Answer.Success(StaticType.Bool, lcaps.Union(rcaps));
            }

            result = r.Ok ? result : result with { Ok = false, Caps = Capabilities.None };
        }

        return left.Ok ? result : result with { Ok = false, Caps = Capabilities.None };
    }

    /// <summary><c>left || right</c>: a right side after a left side typed true is never checked.</summary>
    private Answer Or(Answer left, Capabilities prior, Expr right)
    {
        var lt = left.Type;
        var lcaps = left.Ok ? left.Caps : Capabilities.None;
        Answer result;
        if (lt is { BoolKind: BoolKind.True })
        {
            result = Answer.Success(lt, lcaps);
        }
        else
        {
            var r = ExpectBool(right, prior);
            var rt = r.Type;
            var rcaps = r.Ok ? r.Caps : Capabilities.None;
            if (lt is null || rt is null)
            {
                result = Answer.Fail(StaticType.Bool);
            }
            else if (rt.BoolKind == BoolKind.True)
            {
                result = Answer.Success(StaticType.True, rcaps);
            }
            else if (rt.BoolKind == BoolKind.False)
            {
                result = Answer.Success(lt, lcaps);
            }
            else if (lt.BoolKind == BoolKind.False)
            {
                result = Answer.Success(rt, rcaps);
            }
            else
            {
                result = Answer.Success(StaticType.Bool, lcaps.Intersect(rcaps));
            }

            result = r.Ok ? result : result with { Ok = false, Caps = Capabilities.None };
        }

        return left.Ok ? result : result with { Ok = false, Caps = Capabilities.None };
    }

    private static Answer Not(Answer operand) =>
        operand.Then((t, _) => t is null
            ? Answer.Fail(StaticType.Bool)
            : Answer.Success(t.BoolKind switch
            {
                BoolKind.True => StaticType.False,
                BoolKind.False => StaticType.True,
                _ => StaticType.Bool,
            }));

    private Answer CheckIf(IfExpr ite, Capabilities prior)
    {
        var test = ExpectBool(ite.Condition, prior);
        return test.Then((tt, tcaps) =>
        {
            if (tt is { BoolKind: BoolKind.True })
            {
                return Check(ite.Then, prior.Union(tcaps)).Then((t, caps) => t is null ? Answer.Fail() : Answer.Success(t, caps.Union(tcaps)));
            }

            if (tt is { BoolKind: BoolKind.False })
            {
                return Check(ite.Otherwise, prior).Then((t, caps) => t is null ? Answer.Fail() : Answer.Success(t, caps));
            }

            var thenAns = Check(ite.Then, prior.Union(tcaps));
            thenAns = thenAns.Ok ? thenAns with { Caps = thenAns.Caps.Union(tcaps) } : thenAns;
            var elseAns = Check(ite.Otherwise, prior);
            return thenAns.Then((thenType, thenCaps) => elseAns.Then((elseType, elseCaps) =>
            {
                var lub = LubOrError(ite, [thenType, elseType], "the `then` and `else` branches of an `if`");
                return lub is null ? Answer.Fail() : Answer.Success(lub, elseCaps.Intersect(thenCaps));
            }));
        });
    }

    private StaticType? LubOrError(Expr at, IReadOnlyList<StaticType?> types, string what)
    {
        if (types.Any(t => t is null))
        {
            return null;
        }

        var lub = StaticType.Never;
        foreach (var t in types)
        {
            var next = StaticType.Lub(lub, t!, out var reason);
            if (next is null)
            {
                report.Error(
                    ValidationErrorCode.IncompatibleTypes,
                    at,
                    $"{what} must have compatible types, but they are {string.Join(" and ", types.Distinct().Select(x => x!.ToString()))}" + (reason is null ? string.Empty : $" ({reason})"));
                return null;
            }

            lub = next;
        }

        return lub;
    }

    private Answer CheckBinary(BinaryExpr bin, Capabilities prior)
    {
        switch (bin.Op)
        {
            case BinaryOp.Eq:
                return CheckEquality(bin, prior);
            case BinaryOp.NotEq:
                return Not(CheckEquality(bin, prior));
            case BinaryOp.Less:
            case BinaryOp.LessEq:
            case BinaryOp.Greater:
            case BinaryOp.GreaterEq:
                return CheckComparison(bin, prior);
            case BinaryOp.Add:
            case BinaryOp.Sub:
            case BinaryOp.Mul:
                {
                    var op = bin.Op switch { BinaryOp.Add => "`+`", BinaryOp.Sub => "`-`", _ => "`*`" };
                    return Expect(bin.Left, prior, StaticType.Long, () => op)
                        .Then((_, _) => Expect(bin.Right, prior, StaticType.Long, () => op).Then((_, _) => Answer.Success(StaticType.Long)));
                }

            case BinaryOp.In:
                return CheckIn(bin.Left, bin.Right, bin, prior);
            case BinaryOp.Contains:
                return Expect(bin.Left, prior, StaticType.AnySet, static () => "`contains`").Then((lt, _) => Check(bin.Right, prior).Then((rt, _) =>
                    StrictEquality(bin, lt is { Kind: TypeKind.Set, Element: { } el } ? el : null, rt, "the set's elements and the argument of `contains`")));
            case BinaryOp.ContainsAll:
            case BinaryOp.ContainsAny:
                {
                    var name = bin.Op == BinaryOp.ContainsAll ? "`containsAll`" : "`containsAny`";
                    return Expect(bin.Left, prior, StaticType.AnySet, () => name).Then((lt, _) => Expect(bin.Right, prior, StaticType.AnySet, () => name).Then((rt, _) =>
                        StrictEquality(bin, lt, rt, $"the two sets of {name}")));
                }

            case BinaryOp.HasTag:
                return Expect(bin.Left, prior, StaticType.AnyEntity, static () => "`hasTag`").Then((lt, _) => Expect(bin.Right, prior, StaticType.String, static () => "`hasTag`").Then((_, _) =>
                {
                    if (lt is null)
                    {
                        return Answer.Fail();
                    }

                    var key = TagKey(bin.Left, bin.Right);
                    var type = TagTypes(lt).Count == 0 ? StaticType.False : prior.Contains(key) ? StaticType.True : StaticType.Bool;
                    return Answer.Success(type, Capabilities.Of(key));
                }));
            case BinaryOp.GetTag:
                return Expect(bin.Left, prior, StaticType.AnyEntity, static () => "`getTag`").Then((lt, _) => Expect(bin.Right, prior, StaticType.String, static () => "`getTag`").Then((_, _) =>
                {
                    if (lt is null)
                    {
                        return Answer.Fail();
                    }

                    if (!prior.Contains(TagKey(bin.Left, bin.Right)))
                    {
                        report.Error(ValidationErrorCode.UnsafeTagAccess, bin, $"this tag of {lt} may not exist; guard the read with `{Describe(bin.Left)}.hasTag(...)` for the same tag");
                        return Answer.Fail();
                    }

                    var tagTypes = TagTypes(lt);
                    if (tagTypes.Count == 0)
                    {
                        report.Error(ValidationErrorCode.NoTagsAllowed, bin, $"entity type {lt} has no tags in the schema");
                        return Answer.Fail();
                    }

                    var lub = LubOrError(bin, tagTypes, "the tag types of the entity types");
                    return lub is null ? Answer.Fail() : Answer.Success(lub);
                }));
            default:
                return Answer.Fail();
        }
    }

    private List<StaticType?> TagTypes(StaticType entity)
    {
        if (entity.Name is null)
        {
            return [.. schema.EntityTypeDefinitions.Where(t => t.Tags is not null).Select(t => t.Tags).Distinct()];
        }

        return schema.TryGetEntityType(entity.Name, out var et) && et.Tags is { } tags ? [tags] : [];
    }

    private Answer CheckEquality(BinaryExpr bin, Capabilities prior)
    {
        var l = Check(bin.Left, prior);
        var r = Check(bin.Right, prior);
        return l.Then((lt, _) => r.Then((rt, _) =>
        {
            StaticType type;
            if (lt is not null && rt is not null && StaticType.AreDisjoint(lt, rt))
            {
                type = StaticType.False;
            }
            else if (PrimitiveLiteral(bin.Left) is { } a && PrimitiveLiteral(bin.Right) is { } b)
            {
                type = StaticType.Singleton(a.Equals(b));
            }
            else
            {
                type = StaticType.Bool;
            }

            if (type.BoolKind != BoolKind.Any)
            {
                return Answer.Success(type);
            }

            return StrictEquality(bin, lt, rt, "the operands of `==`");
        }));
    }

    private Answer StrictEquality(Expr at, StaticType? lt, StaticType? rt, string what)
    {
        if (lt is not null && rt is not null && StaticType.Lub(lt, rt, out var reason) is null)
        {
            report.Error(ValidationErrorCode.IncompatibleTypes, at, $"{what} must have compatible types, but they are {lt} and {rt}" + (reason is null ? string.Empty : $" ({reason})"));
            return Answer.Fail(StaticType.Bool);
        }

        return Answer.Success(StaticType.Bool);
    }

    /// <summary>A primitive literal (bool, long, string, entity), with <c>action</c> read as the environment's action.</summary>
    private CedarValue? PrimitiveLiteral(Expr e) => e switch
    {
        LiteralExpr { Unfolded: null, Value: BoolValue or LongValue or StringValue or EntityUid } lit => lit.Value,
        VarExpr { Variable: Variable.Action } => env.Action.Uid,
        _ => null,
    };

    private Answer CheckComparison(BinaryExpr bin, Capabilities prior)
    {
        var op = bin.Op switch { BinaryOp.Less => "`<`", BinaryOp.LessEq => "`<=`", BinaryOp.Greater => "`>`", _ => "`>=`" };
        return Check(bin.Left, prior).Then((lt, _) => Check(bin.Right, prior).Then((rt, _) =>
        {
            if (lt is null || rt is null)
            {
                return Answer.Fail(StaticType.Bool);
            }

            var lOk = IsComparable(lt);
            var rOk = IsComparable(rt);
            if (lt.Kind == TypeKind.Never && rt.Kind == TypeKind.Never)
            {
                return Answer.Fail(StaticType.Bool);
            }

            if ((lt.Kind == TypeKind.Never && rOk) || (rt.Kind == TypeKind.Never && lOk) || (lt.Equals(rt) && lOk))
            {
                return Answer.Success(StaticType.Bool);
            }

            if (lOk && !rt.Equals(lt))
            {
                report.Error(ValidationErrorCode.UnexpectedType, bin.Right, $"the right operand of {op} must be {lt} like the left one, but it is {rt}");
            }
            else if (rOk && !lt.Equals(rt))
            {
                report.Error(ValidationErrorCode.UnexpectedType, bin.Left, $"the left operand of {op} must be {rt} like the right one, but it is {lt}");
            }
            else
            {
                report.Error(ValidationErrorCode.UnexpectedType, bin, $"{op} compares Long, datetime or duration values, but the operands are {lt} and {rt}");
            }

            return Answer.Fail(StaticType.Bool);
        }));
    }

    private static bool IsComparable(StaticType t) => ComparableTypes.Contains(t);

    private Answer CheckIn(Expr lhs, Expr rhs, Expr at, Capabilities prior)
    {
        var l = Expect(lhs, prior, StaticType.AnyEntity, static () => "the left operand of `in`");
        var r = ExpectOneOf(rhs, prior, EntityOrEntitySet, static () => "the right operand of `in`", "an entity or a set of entities");
        var bothOk = l.Ok && r.Ok;
        return l.Then((lt, _) => r.Then((rt, _) =>
        {
            if (!bothOk)
            {
                return Answer.Fail(StaticType.Bool);
            }

            if (EntityLiteral(lhs) is { } lhsUid && CedarSchema.IsActionType(lhsUid.Type) && EntityLiterals(rhs) is { } rhsUids)
            {
                // Action literals are typed by the schema's action hierarchy: `action in [...]` is known true or false.
                var anyGroup = false;
                var member = false;
                foreach (var group in rhsUids)
                {
                    if (!CedarSchema.IsActionType(group.Type))
                    {
                        continue;
                    }

                    anyGroup = true;
                    if (!schema.TryGetAction(group, out var g))
                    {
                        return Answer.Fail(StaticType.Bool);
                    }

                    member |= group.Equals(lhsUid) || g.Descendants.Contains(lhsUid);
                }

                return Answer.Success(anyGroup ? StaticType.Singleton(member) : StaticType.False);
            }

            var lname = lt is { Kind: TypeKind.Entity } ? lt.Name : null;
            var rname = rt switch
            {
                { Kind: TypeKind.Entity } => rt.Name,
                { Kind: TypeKind.Set, Element: { Kind: TypeKind.Entity } el } => el.Name,
                _ => null,
            };
            if (lname is not null && rname is not null && !CanBeIn(lname, rname))
            {
                return Answer.Success(StaticType.False);
            }

            return Answer.Success(StaticType.Bool);
        }));
    }

    private bool CanBeIn(string lhs, string rhs) =>
        schema.TypesIn(rhs).Contains(lhs) ||
        lhs == rhs ||
        schema.ActionDefinitions.Any(a => a.Uid.Type == rhs && a.Descendants.Any(d => d.Type == lhs));

    private EntityUid? EntityLiteral(Expr e) => e switch
    {
        LiteralExpr { Unfolded: null, Value: EntityUid uid } => uid,
        VarExpr { Variable: Variable.Action } => env.Action.Uid,
        _ => null,
    };

    private List<EntityUid>? EntityLiterals(Expr e)
    {
        if (EntityLiteral(e) is { } single)
        {
            return [single];
        }

        if (e is LiteralExpr { Unfolded: SetExpr folded })
        {
            e = folded;
        }

        if (e is not SetExpr set)
        {
            return null;
        }

        var list = new List<EntityUid>();
        foreach (var item in set.Items)
        {
            if (EntityLiteral(item) is not { } uid)
            {
                return null;
            }

            list.Add(uid);
        }

        return list;
    }

    private Answer CheckIs(IsExpr isExpr, Capabilities prior) =>
        Expect(isExpr.Target, prior, StaticType.AnyEntity, static () => "`is`").Then((t, _) =>
        {
            if (t is not { Kind: TypeKind.Entity })
            {
                return Answer.Fail(StaticType.Bool);
            }

            if (t.Name is null)
            {
                return Answer.Success(StaticType.Bool);
            }

            return Answer.Success(StaticType.Singleton(t.Name == isExpr.EntityType));
        });

    private Answer CheckGetAttr(GetAttrExpr get, Capabilities prior) =>
        ExpectOneOf(get.Target, prior, EntityOrRecord, () => $"the target of `.{get.Attribute}`", "an entity or a record").Then((t, _) =>
        {
            if (t is null)
            {
                return Answer.Fail();
            }

            var attr = LookupAttribute(t, get.Attribute);
            if (attr is { } a)
            {
                if (a.Required || prior.Contains(AttributeKey(get.Target, get.Attribute)))
                {
                    return Answer.Success(a.Type);
                }

                report.Error(
                    ValidationErrorCode.UnsafeOptionalAttributeAccess,
                    get,
                    $"attribute `{get.Attribute}` of {Describe(get.Target)} is optional; check `{Describe(get.Target)} has {get.Attribute}` before reading it");
                return Answer.Fail(a.Type);
            }

            var known = AttributeNames(t);
            var hint = known.Count == 0 ? "it has no attributes" : "it has " + string.Join(", ", known.Select(k => $"`{k}`"));
            report.Error(
                ValidationErrorCode.UnsafeAttributeAccess,
                get,
                $"{Describe(get.Target)} ({t}) has no attribute `{get.Attribute}` in the schema; {hint}");
            return Answer.Fail();
        });

    private Answer CheckHasAttr(HasAttrExpr has, Capabilities prior) =>
        ExpectOneOf(has.Target, prior, EntityOrRecord, () => $"the target of `has {has.Attribute}`", "an entity or a record").Then((t, _) =>
        {
            if (t is null)
            {
                return Answer.Fail(StaticType.Bool);
            }

            var key = AttributeKey(has.Target, has.Attribute);
            var attr = LookupAttribute(t, has.Attribute);
            if (attr is { } a)
            {
                var known = prior.Contains(key) || (a.Required && t.Kind == TypeKind.Record);
                return Answer.Success(known ? StaticType.True : StaticType.Bool, Capabilities.Of(key));
            }

            return Answer.Success(MayHaveAttribute(t, has.Attribute) ? StaticType.Bool : StaticType.False);
        });

    private AttributeType? LookupAttribute(StaticType t, string attr)
    {
        if (t.Kind == TypeKind.Record)
        {
            return t.Attributes.TryGetValue(attr, out var a) ? a : null;
        }

        if (t.Kind == TypeKind.Entity && t.Name is not null && schema.TryGetEntityType(t.Name, out var et))
        {
            return et.Attributes.Attributes.TryGetValue(attr, out var a) ? a : null;
        }

        return null;
    }

    private List<string> AttributeNames(StaticType t)
    {
        if (t.Kind == TypeKind.Record)
        {
            return [.. t.Attributes.Keys];
        }

        return t.Kind == TypeKind.Entity && t.Name is not null && schema.TryGetEntityType(t.Name, out var et) ? [.. et.Attributes.Attributes.Keys] : [];
    }

    private bool MayHaveAttribute(StaticType t, string attr) => t.Kind switch
    {
        TypeKind.Never => true,
        TypeKind.Record => t.IsOpen || t.Attributes.ContainsKey(attr),
        TypeKind.Entity when t.Name is null => true,
        TypeKind.Entity when !CedarSchema.IsActionType(t.Name) && !schema.IsEntityTypeDeclared(t.Name) => true,
        TypeKind.Entity => schema.TryGetEntityType(t.Name!, out var et) && et.Attributes.Attributes.ContainsKey(attr),
        _ => false,
    };

    private Answer CheckSet(SetExpr set, Capabilities prior)
    {
        var answers = set.Items.Select(i => Check(i, prior)).ToList();
        var allOk = answers.All(a => a.Ok);
        StaticType? result = null;
        if (set.Items.Length == 0)
        {
            report.Error(ValidationErrorCode.EmptySetForbidden, set, "an empty set literal `[]` has no element type; compare with `.isEmpty()` instead");
        }
        else
        {
            var lub = LubOrError(set, answers.Select(a => a.Type).ToList(), "the elements of a set");
            result = lub is null ? null : StaticType.SetOf(lub);
        }

        return result is not null && allOk ? Answer.Success(result) : Answer.Fail(result);
    }

    private Answer CheckRecord(RecordExpr rec, Capabilities prior)
    {
        var answers = rec.Values.Select(v => Check(v, prior)).ToList();
        if (answers.Any(a => a.Type is null))
        {
            return Answer.Fail();
        }

        var type = StaticType.Record(rec.Keys.Select((k, i) => new KeyValuePair<string, AttributeType>(k, new AttributeType(answers[i].Type!, true))));
        return answers.All(a => a.Ok) ? Answer.Success(type) : Answer.Fail(type);
    }

    private Answer CheckExtensionCall(ExtensionCallExpr call, Capabilities prior)
    {
        var signature = ExtensionSignatures.Of(call.Function.Name);
        var failed = false;
        if (call.Args.Length != signature.Arguments.Length)
        {
            report.Error(
                ValidationErrorCode.WrongNumberArguments,
                call,
                $"`{call.Function.Name}` takes {signature.Arguments.Length} argument(s){(call.Function.IsMethod ? " including its receiver" : string.Empty)}, but {call.Args.Length} were given");
            failed = true;
        }

        if (signature.IsConstructor)
        {
            if (!call.Args.All(a => a is LiteralExpr { Unfolded: null, Value: BoolValue or LongValue or StringValue or EntityUid }))
            {
                report.Error(
                    ValidationErrorCode.NonLiteralExtensionConstructor,
                    call,
                    $"`{call.Function.Name}(...)` must be called with a string literal so it can be checked when the policy is written");
                failed = true;
            }
            else if (call.Args.Length == 1 && call.Args[0] is LiteralExpr { Value: StringValue s } && call.Function.Invoke(s, null, out var error) is null)
            {
                report.Error(ValidationErrorCode.FunctionArgumentValidation, call, $"invalid argument to `{call.Function.Name}`: {error ?? s.ToString()}");
                failed = true;
            }
        }

        if (failed)
        {
            foreach (var a in call.Args)
            {
                Check(a, prior);
            }

            return Answer.Fail(signature.Result);
        }

        var ok = true;
        for (var i = 0; i < call.Args.Length; i++)
        {
            var index = i;
            ok &= Expect(call.Args[i], prior, signature.Arguments[i], () => call.Function.IsMethod && index == 0
                ? $"the receiver of `{call.Function.Name}`"
                : $"argument {(call.Function.IsMethod ? index : index + 1)} of `{call.Function.Name}`").Ok;
        }

        return ok ? Answer.Success(signature.Result) : Answer.Fail(signature.Result);
    }

    private Answer ExpectBool(Expr e, Capabilities prior) => Expect(e, prior, StaticType.Bool, static () => "a condition");

    private Answer Expect(Expr e, Capabilities prior, StaticType expected, Func<string> what) =>
        ExpectOneOf(e, prior, expected, null, what, null);

    private Answer ExpectOneOf(Expr e, Capabilities prior, StaticType[] expected, Func<string> what, string expectedText) =>
        ExpectOneOf(e, prior, expected[0], expected[1], what, expectedText);

    /// <summary>Checks that <paramref name="e"/> has (a subtype of) one of up to two types; messages are only built for errors.</summary>
    private Answer ExpectOneOf(Expr e, Capabilities prior, StaticType first, StaticType? second, Func<string> what, string? expectedText)
    {
        var answer = Check(e, prior);
        var t = answer.Type;
        if (t is null)
        {
            return Answer.Fail();
        }

        if (!StaticType.IsSubtype(t, first, strict: false) && (second is null || !StaticType.IsSubtype(t, second, strict: false)))
        {
            report.Error(ValidationErrorCode.UnexpectedType, e, $"{what()} must be {expectedText ?? Describe(first)}, but {Describe(e)} is {t}");
            return Answer.Fail();
        }

        return answer.Ok ? answer : Answer.Fail(t);
    }

    private static string Describe(StaticType t) => t.Kind switch
    {
        TypeKind.Bool => "a boolean",
        TypeKind.Long => "a Long",
        TypeKind.String => "a String",
        TypeKind.Entity when t.Name is null => "an entity",
        TypeKind.Set when t.Element is null => "a set",
        TypeKind.Record => "a record",
        _ => t.ToString(),
    };

    private static string Describe(Expr e)
    {
        var key = ExpressionKeys.Display(e);
        return key.Length > 60 ? "the expression" : key;
    }

    private static string AttributeKey(Expr target, string attribute) => "a\u0002" + ExpressionKeys.Key(target) + "\u0002" + attribute;

    private static string TagKey(Expr target, Expr tag) => "t\u0002" + ExpressionKeys.Key(target) + "\u0002" + ExpressionKeys.Key(tag);
}
