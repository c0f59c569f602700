using GrantSilo.Cedar.Values;

namespace GrantSilo.Cedar.Evaluation;

/// <summary>A compiled expression: evaluates to a value, or to null after recording an error in the context.</summary>
internal abstract class Expr(int depth)
{
    /// <summary>Height of the tree below this node; bounded by the parser so evaluation cannot exhaust the stack.</summary>
    public int Depth { get; } = depth;

    /// <summary>Source offset of the expression in the policy text, or -1 when unknown (set once by the parser).</summary>
    public int Offset { get; set; } = -1;

    public abstract CedarValue? Eval(EvalContext ctx);

    protected static int DepthOf(params Expr[] children)
    {
        var d = 0;
        foreach (var c in children)
        {
            d = Math.Max(d, c.Depth);
        }

        return d + 1;
    }
}

internal sealed class LiteralExpr(CedarValue value) : Expr(1)
{
    public CedarValue Value { get; } = value;

    /// <summary>The expression this literal was folded from at compile time (set, record or extension call), kept for the validator.</summary>
    public Expr? Unfolded { get; init; }

    public override CedarValue? Eval(EvalContext ctx) => Value;
}

/// <summary>An expression whose evaluation always fails, e.g. <c>ip("bad")</c> folded at compile time.</summary>
internal sealed class ErrorExpr(string message) : Expr(1)
{
    /// <summary>The expression whose constant evaluation failed, kept for the validator.</summary>
    public Expr? Unfolded { get; init; }

    public string Message => message;

    public override CedarValue? Eval(EvalContext ctx) => ctx.Fail(message);
}

internal enum Variable
{
    Principal,
    Action,
    Resource,
    Context,
}

internal sealed class VarExpr(Variable variable) : Expr(1)
{
    public Variable Variable { get; } = variable;

    public override CedarValue? Eval(EvalContext ctx) => Variable switch
    {
        Variable.Principal => ctx.Principal,
        Variable.Action => ctx.Action,
        Variable.Resource => ctx.Resource,
        _ => ctx.Context,
    };
}

/// <summary>n-ary <c>&amp;&amp;</c> (or <c>||</c>) with short-circuit; n-ary so long chains do not nest deeply.</summary>
internal sealed class LogicExpr(Expr[] operands, bool isAnd) : Expr(DepthOf(operands))
{
    public Expr[] Operands => operands;

    public bool IsAnd => isAnd;

    public override CedarValue? Eval(EvalContext ctx)
    {
        var op = isAnd ? "&&" : "||";
        foreach (var operand in operands)
        {
            var v = operand.Eval(ctx);
            if (v is null)
            {
                return null;
            }

            if (v is not BoolValue b)
            {
                return ctx.TypeError(op, "bool", v);
            }

            if (b.Value != isAnd)
            {
                return b;
            }
        }

        return BoolValue.Of(isAnd);
    }
}

internal sealed class NotExpr(Expr operand) : Expr(DepthOf(operand))
{
    public Expr Operand => operand;

    public override CedarValue? Eval(EvalContext ctx)
    {
        var v = operand.Eval(ctx);
        return v is null ? null : v is BoolValue b ? BoolValue.Of(!b.Value) : ctx.TypeError("!", "bool", v);
    }
}

internal sealed class NegExpr(Expr operand) : Expr(DepthOf(operand))
{
    public Expr Operand => operand;

    public override CedarValue? Eval(EvalContext ctx)
    {
        var v = operand.Eval(ctx);
        if (v is null)
        {
            return null;
        }

        if (v is not LongValue l)
        {
            return ctx.TypeError("-", "long", v);
        }

        return l.Value == long.MinValue ? ctx.Fail($"integer overflow: -({l.Value})") : LongValue.Of(-l.Value);
    }
}

internal sealed class IfExpr(Expr condition, Expr then, Expr otherwise) : Expr(DepthOf(condition, then, otherwise))
{
    public Expr Condition => condition;

    public Expr Then => then;

    public Expr Otherwise => otherwise;

    public override CedarValue? Eval(EvalContext ctx)
    {
        var c = condition.Eval(ctx);
        if (c is null)
        {
            return null;
        }

        return c is BoolValue b ? (b.Value ? then : otherwise).Eval(ctx) : ctx.TypeError("if", "bool", c);
    }
}

internal enum BinaryOp
{
    Eq,
    NotEq,
    Less,
    LessEq,
    Greater,
    GreaterEq,
    Add,
    Sub,
    Mul,
    In,
    Contains,
    ContainsAll,
    ContainsAny,
    GetTag,
    HasTag,
}

internal sealed class BinaryExpr(BinaryOp op, Expr left, Expr right) : Expr(DepthOf(left, right))
{
    public Expr Left => left;

    public Expr Right => right;

    public BinaryOp Op { get; } = op;

    public override CedarValue? Eval(EvalContext ctx)
    {
        var l = left.Eval(ctx);
        if (l is null)
        {
            return null;
        }

        var r = right.Eval(ctx);
        if (r is null)
        {
            return null;
        }

        switch (Op)
        {
            case BinaryOp.Eq:
                return BoolValue.Of(l.Equals(r));
            case BinaryOp.NotEq:
                return BoolValue.Of(!l.Equals(r));
            case BinaryOp.Less:
            case BinaryOp.LessEq:
            case BinaryOp.Greater:
            case BinaryOp.GreaterEq:
                return Compare(ctx, l, r);
            case BinaryOp.Add:
            case BinaryOp.Sub:
            case BinaryOp.Mul:
                return Arithmetic(ctx, l, r);
            case BinaryOp.In:
                return In(ctx, l, r);
            case BinaryOp.Contains:
                return l is SetValue s ? BoolValue.Of(s.Contains(r)) : ctx.TypeError("contains", "set", l);
            case BinaryOp.ContainsAll:
            case BinaryOp.ContainsAny:
                if (l is not SetValue a)
                {
                    return ctx.TypeError(Op == BinaryOp.ContainsAll ? "containsAll" : "containsAny", "set", l);
                }

                if (r is not SetValue b)
                {
                    return ctx.TypeError(Op == BinaryOp.ContainsAll ? "containsAll" : "containsAny", "set", r);
                }

                return BoolValue.Of(Op == BinaryOp.ContainsAll ? a.ContainsAll(b) : a.ContainsAny(b));
            default:
                return Tag(ctx, l, r);
        }
    }

    private CedarValue? Compare(EvalContext ctx, CedarValue l, CedarValue r)
    {
        long x, y;
        if (l is LongValue a && r is LongValue b)
        {
            (x, y) = (a.Value, b.Value);
        }
        else if (l is DatetimeValue da && r is DatetimeValue db)
        {
            (x, y) = (da.EpochMilliseconds, db.EpochMilliseconds);
        }
        else if (l is DurationValue ua && r is DurationValue ub)
        {
            (x, y) = (ua.Milliseconds, ub.Milliseconds);
        }
        else
        {
            return ctx.Fail($"type error: comparison expects two longs, datetimes or durations, got {CedarValue.TypeName(l)} and {CedarValue.TypeName(r)}");
        }

        return BoolValue.Of(Op switch
        {
            BinaryOp.Less => x < y,
            BinaryOp.LessEq => x <= y,
            BinaryOp.Greater => x > y,
            _ => x >= y,
        });
    }

    private CedarValue? Arithmetic(EvalContext ctx, CedarValue l, CedarValue r)
    {
        if (l is not LongValue a)
        {
            return ctx.TypeError(OpText, "long", l);
        }

        if (r is not LongValue b)
        {
            return ctx.TypeError(OpText, "long", r);
        }

        long result;
        bool overflow;
        switch (Op)
        {
            case BinaryOp.Add:
                result = unchecked(a.Value + b.Value);
                overflow = ((a.Value ^ result) & (b.Value ^ result)) < 0;
                break;
            case BinaryOp.Sub:
                result = unchecked(a.Value - b.Value);
                overflow = ((a.Value ^ b.Value) & (a.Value ^ result)) < 0;
                break;
            default:
                var wide = Math.BigMul(a.Value, b.Value, out result);
                overflow = wide != (result >> 63);
                break;
        }

        return overflow ? ctx.Fail($"integer overflow: {a.Value} {OpText} {b.Value}") : LongValue.Of(result);
    }

    private string OpText => Op switch
    {
        BinaryOp.Add => "+",
        BinaryOp.Sub => "-",
        _ => "*",
    };

    internal static CedarValue? In(EvalContext ctx, CedarValue l, CedarValue r)
    {
        if (l is not EntityUid uid)
        {
            return ctx.TypeError("in", "entity", l);
        }

        if (r is EntityUid target)
        {
            return BoolValue.Of(uid.Equals(target) || ctx.Entities.AncestorsOf(uid).Contains(target));
        }

        if (r is not SetValue set)
        {
            return ctx.TypeError("in", "entity or set of entities", r);
        }

        foreach (var item in set.Items)
        {
            if (item is not EntityUid)
            {
                return ctx.TypeError("in", "set of entities", item);
            }
        }

        var ancestors = ctx.Entities.AncestorsOf(uid);
        foreach (var item in set.Items)
        {
            var e = (EntityUid)item;
            if (uid.Equals(e) || ancestors.Contains(e))
            {
                return BoolValue.True;
            }
        }

        return BoolValue.False;
    }

    private CedarValue? Tag(EvalContext ctx, CedarValue l, CedarValue r)
    {
        var name = Op == BinaryOp.GetTag ? "getTag" : "hasTag";
        if (l is not EntityUid uid)
        {
            return ctx.TypeError(name, "entity", l);
        }

        if (r is not StringValue key)
        {
            return ctx.TypeError(name, "string", r);
        }

        var entity = ctx.Entities.Find(uid);
        if (Op == BinaryOp.HasTag)
        {
            return BoolValue.Of(entity is not null && entity.TagMap.ContainsKey(key.Value));
        }

        if (entity is null)
        {
            return ctx.Fail($"entity {uid} does not exist");
        }

        return entity.TagMap.TryGetValue(key.Value, out var v) ? v : ctx.Fail($"entity {uid} has no tag {Quote(key.Value)}");
    }

    private static string Quote(string s) => new StringValue(s).ToString();
}

internal sealed class GetAttrExpr(Expr target, string attribute) : Expr(DepthOf(target))
{
    public Expr Target => target;

    public string Attribute => attribute;

    public override CedarValue? Eval(EvalContext ctx)
    {
        var v = target.Eval(ctx);
        if (v is null)
        {
            return null;
        }

        if (v is RecordValue rec)
        {
            return rec.Attributes.TryGetValue(attribute, out var a) ? a : ctx.Fail($"record does not have the attribute `{attribute}`");
        }

        if (v is EntityUid uid)
        {
            var entity = ctx.Entities.Find(uid);
            if (entity is null)
            {
                return ctx.Fail($"entity {uid} does not exist");
            }

            return entity.AttributeMap.TryGetValue(attribute, out var a) ? a : ctx.Fail($"{uid} does not have the attribute `{attribute}`");
        }

        return ctx.TypeError("." + attribute, "entity or record", v);
    }
}

internal sealed class HasAttrExpr(Expr target, string attribute) : Expr(DepthOf(target))
{
    public Expr Target => target;

    public string Attribute => attribute;

    public override CedarValue? Eval(EvalContext ctx)
    {
        var v = target.Eval(ctx);
        if (v is null)
        {
            return null;
        }

        if (v is RecordValue rec)
        {
            return BoolValue.Of(rec.Attributes.ContainsKey(attribute));
        }

        if (v is EntityUid uid)
        {
            var entity = ctx.Entities.Find(uid);
            return BoolValue.Of(entity is not null && entity.AttributeMap.ContainsKey(attribute));
        }

        return ctx.TypeError("has", "entity or record", v);
    }
}

internal sealed class LikeExpr(Expr target, Pattern pattern) : Expr(DepthOf(target))
{
    public Expr Target => target;

    public Pattern Pattern => pattern;

    public override CedarValue? Eval(EvalContext ctx)
    {
        var v = target.Eval(ctx);
        if (v is null)
        {
            return null;
        }

        if (v is not StringValue s)
        {
            return ctx.TypeError("like", "string", v);
        }

        // The budget charges what matching took (a no-op without a budget): about the string's length, but up to its
        // length times the pattern's when a wildcard backtracks, which a caller choosing the string can provoke.
        var matched = pattern.IsMatch(s.Value, out var steps);
        ctx.Remaining -= Math.Max(s.Value.Length, steps);
        return BoolValue.Of(matched);
    }
}

internal sealed class IsExpr(Expr target, string entityType, Expr? inExpr) : Expr(inExpr is null ? DepthOf(target) : DepthOf(target, inExpr))
{
    public Expr Target => target;

    public string EntityType => entityType;

    public Expr? InExpr => inExpr;

    public override CedarValue? Eval(EvalContext ctx)
    {
        var v = target.Eval(ctx);
        if (v is null)
        {
            return null;
        }

        if (v is not EntityUid uid)
        {
            return ctx.TypeError("is", "entity", v);
        }

        var typeMatches = string.Equals(uid.Type, entityType, StringComparison.Ordinal);
        if (inExpr is null || !typeMatches)
        {
            // `e is T in x` is `e is T && e in x`: the right side is not evaluated when the type does not match.
            return BoolValue.Of(typeMatches);
        }

        var r = inExpr.Eval(ctx);
        return r is null ? null : BinaryExpr.In(ctx, uid, r);
    }
}

internal sealed class IsEmptyExpr(Expr target) : Expr(DepthOf(target))
{
    public Expr Target => target;

    public override CedarValue? Eval(EvalContext ctx)
    {
        var v = target.Eval(ctx);
        if (v is null)
        {
            return null;
        }

        return v is SetValue s ? BoolValue.Of(s.Count == 0) : ctx.TypeError("isEmpty", "set", v);
    }
}

internal sealed class SetExpr(Expr[] items) : Expr(DepthOf(items))
{
    public Expr[] Items => items;

    public override CedarValue? Eval(EvalContext ctx)
    {
        if (items.Length == 0)
        {
            return SetValue.Empty;
        }

        var buffer = new CedarValue[items.Length];
        for (var i = 0; i < items.Length; i++)
        {
            var v = items[i].Eval(ctx);
            if (v is null)
            {
                return null;
            }

            buffer[i] = v;
        }

        return SetValue.FromBuffer(buffer);
    }
}

internal sealed class RecordExpr(string[] keys, Expr[] values) : Expr(DepthOf(values))
{
    public string[] Keys => keys;

    public Expr[] Values => values;

    public override CedarValue? Eval(EvalContext ctx)
    {
        var d = new Dictionary<string, CedarValue>(keys.Length, StringComparer.Ordinal);
        for (var i = 0; i < keys.Length; i++)
        {
            var v = values[i].Eval(ctx);
            if (v is null)
            {
                return null;
            }

            d[keys[i]] = v;
        }

        return d.Count == 0 ? RecordValue.Empty : new RecordValue(d);
    }
}

internal sealed class ExtensionCallExpr(ExtensionFunction function, Expr[] args) : Expr(DepthOf(args))
{
    public ExtensionFunction Function => function;

    public Expr[] Args => args;

    public override CedarValue? Eval(EvalContext ctx)
    {
        var a = args[0].Eval(ctx);
        if (a is null)
        {
            return null;
        }

        CedarValue? b = null;
        if (args.Length > 1)
        {
            b = args[1].Eval(ctx);
            if (b is null)
            {
                return null;
            }
        }

        var result = function.Invoke(a, b, out var error);
        return result ?? ctx.Fail(error ?? "extension function failed");
    }
}

/// <summary>A template slot (<c>?principal</c>, <c>?resource</c>); appears only in the validator's view of a template.</summary>
internal sealed class SlotExpr(Variable variable) : Expr(1)
{
    public Variable Variable => variable;

    public override CedarValue? Eval(EvalContext ctx) => ctx.Fail($"template slot ?{variable.ToString().ToLowerInvariant()} is not linked");
}
