using System.Runtime.CompilerServices;
using System.Text;
using GrantSilo.Cedar.Evaluation;
using GrantSilo.Cedar.Values;

namespace GrantSilo.Cedar.Validation;

/// <summary>
/// Structural forms of expressions: <see cref="Key"/> is equal for expressions of the same shape (how the validator
/// matches a <c>has</c> guard with the attribute read it protects); <see cref="Display"/> is Cedar-like text for messages.
/// </summary>
internal static class ExpressionKeys
{
    private static readonly ConditionalWeakTable<Expr, string> Keys = [];

    public static string Key(Expr e) => Keys.GetValue(e, static x =>
    {
        var sb = new StringBuilder();
        Write(sb, x, display: false);
        return sb.ToString();
    });

    public static string Display(Expr e)
    {
        var sb = new StringBuilder();
        Write(sb, e, display: true);
        return sb.ToString();
    }

    private static void Write(StringBuilder sb, Expr e, bool display)
    {
        if (sb.Length > 100_000 || !RuntimeHelpers.TryEnsureSufficientExecutionStack())
        {
            sb.Append('\u0003').Append(RuntimeHelpers.GetHashCode(e));
            return;
        }

        switch (e)
        {
            case LiteralExpr { Unfolded: { } u }:
                Write(sb, u, display);
                break;
            case ErrorExpr { Unfolded: { } u }:
                Write(sb, u, display);
                break;
            case LiteralExpr lit:
                if (!display)
                {
                    sb.Append(lit.Value.GetType().Name).Append(':');
                }

                sb.Append(lit.Value);
                break;
            case VarExpr v:
                sb.Append(v.Variable.ToString().ToLowerInvariant());
                break;
            case LogicExpr l:
                sb.Append('(');
                for (var i = 0; i < l.Operands.Length; i++)
                {
                    if (i > 0)
                    {
                        sb.Append(l.IsAnd ? " && " : " || ");
                    }

                    Write(sb, l.Operands[i], display);
                }

                sb.Append(')');
                break;
            case NotExpr n:
                sb.Append('!');
                Write(sb, n.Operand, display);
                break;
            case NegExpr n:
                sb.Append("-(");
                Write(sb, n.Operand, display);
                sb.Append(')');
                break;
            case IfExpr i:
                sb.Append("(if ");
                Write(sb, i.Condition, display);
                sb.Append(" then ");
                Write(sb, i.Then, display);
                sb.Append(" else ");
                Write(sb, i.Otherwise, display);
                sb.Append(')');
                break;
            case BinaryExpr b:
                sb.Append('(');
                Write(sb, b.Left, display);
                sb.Append(' ').Append(b.Op).Append(' ');
                Write(sb, b.Right, display);
                sb.Append(')');
                break;
            case GetAttrExpr g:
                Write(sb, g.Target, display);
                sb.Append('.').Append(g.Attribute);
                break;
            case HasAttrExpr h:
                sb.Append('(');
                Write(sb, h.Target, display);
                sb.Append(" has ").Append(h.Attribute).Append(')');
                break;
            case LikeExpr l:
                sb.Append('(');
                Write(sb, l.Target, display);
                sb.Append(" like \"").Append(l.Pattern.Key).Append("\")");
                break;
            case IsExpr i:
                sb.Append('(');
                Write(sb, i.Target, display);
                sb.Append(" is ").Append(i.EntityType);
                if (i.InExpr is { } inExpr)
                {
                    sb.Append(" in ");
                    Write(sb, inExpr, display);
                }

                sb.Append(')');
                break;
            case IsEmptyExpr i:
                Write(sb, i.Target, display);
                sb.Append(".isEmpty()");
                break;
            case SetExpr s:
                sb.Append('[');
                for (var i = 0; i < s.Items.Length; i++)
                {
                    sb.Append(i > 0 ? ", " : string.Empty);
                    Write(sb, s.Items[i], display);
                }

                sb.Append(']');
                break;
            case RecordExpr r:
                sb.Append('{');
                foreach (var i in Enumerable.Range(0, r.Keys.Length).OrderBy(i => r.Keys[i], StringComparer.Ordinal))
                {
                    sb.Append(new StringValue(r.Keys[i])).Append(": ");
                    Write(sb, r.Values[i], display);
                    sb.Append(", ");
                }

                sb.Append('}');
                break;
            case ExtensionCallExpr c:
                sb.Append(c.Function.Name).Append('(');
                for (var i = 0; i < c.Args.Length; i++)
                {
                    sb.Append(i > 0 ? ", " : string.Empty);
                    Write(sb, c.Args[i], display);
                }

                sb.Append(')');
                break;
            default:
                sb.Append('\u0003').Append(RuntimeHelpers.GetHashCode(e));
                break;
        }
    }
}
