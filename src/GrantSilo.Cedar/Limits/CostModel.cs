using GrantSilo.Cedar.Evaluation;

namespace GrantSilo.Cedar.Limits;

/// <summary>
/// A static estimate of what evaluating a policy costs, in abstract units: one per expression node, more for the
/// operations whose work grows with their input (<c>like</c> by pattern length, <c>in</c> and set operations by a
/// fixed lookup charge). The same units are charged by the evaluation budget, so a limit reads the same in both places.
/// </summary>
internal static class CostModel
{
    /// <summary>What one policy's scope costs before its conditions: three scope checks.</summary>
    private const long ScopeCost = 3;

    private const long LookupCost = 8;

    public static (long Cost, int Nodes) Of(Policy policy)
    {
        long cost = ScopeCost;
        var nodes = 0;
        foreach (var c in policy.Conditions)
        {
            Walk(c.Body, ref cost, ref nodes);
        }

        return (cost, nodes);
    }

    private static void Walk(Expr e, ref long cost, ref int nodes)
    {
        // Iterative over the children so very deep (but parser-bounded) trees cannot exhaust the stack.
        var stack = new Stack<Expr>();
        stack.Push(e);
        while (stack.Count > 0)
        {
            var x = stack.Pop();
            nodes++;
            cost++;
            switch (x)
            {
                case LogicExpr l:
                    foreach (var o in l.Operands)
                    {
                        stack.Push(o);
                    }

                    break;
                case NotExpr n:
                    stack.Push(n.Operand);
                    break;
                case NegExpr n:
                    stack.Push(n.Operand);
                    break;
                case IfExpr i:
                    stack.Push(i.Condition);
                    stack.Push(i.Then);
                    stack.Push(i.Otherwise);
                    break;
                case BinaryExpr b:
                    if (b.Op is BinaryOp.In or BinaryOp.Contains or BinaryOp.ContainsAll or BinaryOp.ContainsAny or BinaryOp.GetTag or BinaryOp.HasTag)
                    {
                        cost += LookupCost;
                    }

                    stack.Push(b.Left);
                    stack.Push(b.Right);
                    break;
                case GetAttrExpr g:
                    stack.Push(g.Target);
                    break;
                case HasAttrExpr h:
                    stack.Push(h.Target);
                    break;
                case LikeExpr l:
                    cost += LookupCost + l.Pattern.Key.Length;
                    stack.Push(l.Target);
                    break;
                case IsExpr i:
                    stack.Push(i.Target);
                    if (i.InExpr is { } inExpr)
                    {
                        cost += LookupCost;
                        stack.Push(inExpr);
                    }

                    break;
                case IsEmptyExpr i:
                    stack.Push(i.Target);
                    break;
                case SetExpr s:
                    foreach (var item in s.Items)
                    {
                        stack.Push(item);
                    }

                    break;
                case RecordExpr r:
                    foreach (var v in r.Values)
                    {
                        stack.Push(v);
                    }

                    break;
                case ExtensionCallExpr c:
                    cost += LookupCost;
                    foreach (var a in c.Args)
                    {
                        stack.Push(a);
                    }

                    break;
            }
        }
    }
}
