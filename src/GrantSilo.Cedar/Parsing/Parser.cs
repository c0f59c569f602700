using System.Globalization;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Text;
using GrantSilo.Cedar.Evaluation;
using GrantSilo.Cedar.Values;

namespace GrantSilo.Cedar.Parsing;

/// <summary>Recursive-descent parser for Cedar policy text, one method per grammar rule, producing compiled policies.</summary>
internal sealed class Parser
{
    /// <summary>Maximum nesting of parentheses, brackets, braces and conditionals.</summary>
    internal const int MaxNesting = 200;

    /// <summary>Maximum height of an expression tree (bounds evaluation recursion).</summary>
    internal const int MaxTreeDepth = 2000;

    private static readonly HashSet<string> ReservedNames = new(StringComparer.Ordinal)
    {
        "true", "false", "if", "then", "else", "in", "is", "like", "has", "__cedar",
    };

    private static readonly HashSet<string>.AlternateLookup<ReadOnlySpan<char>> ReservedLookup = ReservedNames.GetAlternateLookup<ReadOnlySpan<char>>();

    private readonly string _text;
    private readonly List<Token> _tokens;
    private int _pos;
    private int _nesting;
    private bool _allowSlots;
    private SourcePosition _lastPosition = new(0, 1, 1);

    private Parser(string text)
    {
        _text = text;
        _tokens = Tokenizer.Tokenize(text);
    }

    public static List<Policy> ParsePolicies(string text, bool allowTemplates = false)
    {
        var parser = new Parser(text) { _allowSlots = allowTemplates };
        try
        {
            return parser.Policies();
        }
        catch (InsufficientExecutionStackException)
        {
            throw parser.Error(CedarParseErrorCode.NestingTooDeep, parser.Current, "expression nested too deeply");
        }
    }

    /// <summary>Parses a single expression (used by tests and tools).</summary>
    internal static Expr ParseExpression(string text)
    {
        var parser = new Parser(text);
        try
        {
            var e = parser.Expression();
            if (parser.Current.Kind != TokenKind.Eof)
            {
                throw parser.Error(CedarParseErrorCode.UnexpectedToken, parser.Current, $"unexpected `{parser.TextOf(parser.Current)}` after the expression");
            }

            return e;
        }
        catch (InsufficientExecutionStackException)
        {
            throw parser.Error(CedarParseErrorCode.NestingTooDeep, parser.Current, "expression nested too deeply");
        }
    }

    private Token Current => _tokens[_pos];

    /// <summary>Line and column of an offset, counted on from the previous policy's start so a long text is scanned once.</summary>
    private SourcePosition PositionOf(int offset)
    {
        if (offset < _lastPosition.Offset)
        {
            _lastPosition = new SourcePosition(0, 1, 1);
        }

        int line = _lastPosition.Line, column = _lastPosition.Column;
        for (var i = _lastPosition.Offset; i < offset; i++)
        {
            if (_text[i] == '\n')
            {
                line++;
                column = 1;
            }
            else
            {
                column++;
            }
        }

        _lastPosition = new SourcePosition(offset, line, column);
        return _lastPosition;
    }

    private Token Peek(int n = 1) => _tokens[Math.Min(_pos + n, _tokens.Count - 1)];

    private List<Policy> Policies()
    {
        var policies = new List<Policy>();
        while (Current.Kind != TokenKind.Eof)
        {
            policies.Add(PolicyRule(policies.Count));
        }

        return policies;
    }

    private Policy PolicyRule(int index)
    {
        var start = Current;
        var annotations = new Dictionary<string, string>(StringComparer.Ordinal);
        while (Current.Kind == TokenKind.At)
        {
            Advance();
            var keyToken = Expect(TokenKind.Ident, "annotation name");
            var key = TextOf(keyToken);
            var value = string.Empty;
            if (Current.Kind == TokenKind.LParen)
            {
                Advance();
                value = StringLiteral(Expect(TokenKind.String, "annotation value"));
                Expect(TokenKind.RParen, "')'");
            }

            if (!annotations.TryAdd(key, value))
            {
                throw Error(CedarParseErrorCode.DuplicateAnnotation, keyToken, $"duplicate annotation @{key}");
            }
        }

        var effectToken = Expect(TokenKind.Ident, "`permit` or `forbid`");
        var effect = TextOf(effectToken) switch
        {
            "permit" => PolicyEffect.Permit,
            "forbid" => PolicyEffect.Forbid,
            var other => throw Error(CedarParseErrorCode.InvalidEffect, effectToken, $"invalid policy effect `{other}`; expected `permit` or `forbid`"),
        };

        Expect(TokenKind.LParen, "'('");
        var principalOffset = Current.Start;
        var principal = PrincipalOrResourceScope("principal");
        Expect(TokenKind.Comma, "','");
        var actionOffset = Current.Start;
        var action = ActionScope();
        Expect(TokenKind.Comma, "','");
        var resourceOffset = Current.Start;
        var resource = PrincipalOrResourceScope("resource");
        if (Current.Kind == TokenKind.Comma)
        {
            Advance();
        }

        if (Current.Kind != TokenKind.RParen)
        {
            throw Error(CedarParseErrorCode.InvalidScope, Current, "expected ')' after the resource scope");
        }

        Advance();
        var conditions = new List<Condition>();
        while (Current.Kind == TokenKind.Ident)
        {
            var condToken = Advance();
            var isWhen = TextOf(condToken) switch
            {
                "when" => true,
                "unless" => false,
                var other => throw Error(CedarParseErrorCode.InvalidCondition, condToken, $"invalid condition `{other}`; expected `when` or `unless`"),
            };
            Expect(TokenKind.LBrace, "'{'");
            if (Current.Kind == TokenKind.RBrace)
            {
                throw Error(CedarParseErrorCode.InvalidCondition, Current, "condition body is empty");
            }

            var body = Expression();
            Expect(TokenKind.RBrace, "'}'");
            conditions.Add(new Condition(isWhen, body));
        }

        var end = Expect(TokenKind.Semicolon, "';'");
        return new Policy(
            "policy" + index.ToString(CultureInfo.InvariantCulture),
            effect,
            annotations,
            PositionOf(start.Start),
            _text[start.Start..end.End],
            principal,
            action,
            resource,
            [.. conditions])
        {
            ScopeOffsets = (principalOffset, actionOffset, resourceOffset),
        };
    }

    private ScopeConstraint PrincipalOrResourceScope(string variable)
    {
        ExpectKeyword(variable, CedarParseErrorCode.InvalidScope);
        switch (Current.Kind)
        {
            case TokenKind.EqEq:
                Advance();
                return Slot(variable) ? new SlotConstraint(isIn: false, isType: null) : new EqConstraint(ScopeEntity());
            case TokenKind.Ident when IsKeyword(Current, "in"):
                Advance();
                if (Current.Kind == TokenKind.LBracket)
                {
                    throw Error(CedarParseErrorCode.InvalidScope, Current, $"`{variable} in [...]` is not allowed; sets are only allowed for `action`");
                }

                return Slot(variable) ? new SlotConstraint(isIn: true, isType: null) : new InConstraint(ScopeEntity());
            case TokenKind.Ident when IsKeyword(Current, "is"):
                Advance();
                var type = Path(out _);
                EntityUid? inTarget = null;
                if (IsKeyword(Current, "in"))
                {
                    Advance();
                    if (Slot(variable))
                    {
                        return new SlotConstraint(isIn: true, isType: type);
                    }

                    inTarget = ScopeEntity();
                }

                return new IsConstraint(type, inTarget);
            case TokenKind.Comma:
            case TokenKind.RParen:
                return ScopeConstraint.Any;
            default:
                throw Error(CedarParseErrorCode.InvalidScope, Current, $"invalid {variable} scope constraint");
        }
    }

    private ScopeConstraint ActionScope()
    {
        ExpectKeyword("action", CedarParseErrorCode.InvalidScope);
        switch (Current.Kind)
        {
            case TokenKind.EqEq:
                Advance();
                return new EqConstraint(ActionEntity());
            case TokenKind.Ident when IsKeyword(Current, "in"):
                Advance();
                if (Current.Kind != TokenKind.LBracket)
                {
                    return new InConstraint(ActionEntity());
                }

                Advance();
                var targets = new List<EntityUid>();
                while (Current.Kind != TokenKind.RBracket)
                {
                    targets.Add(ActionEntity());
                    if (Current.Kind != TokenKind.Comma)
                    {
                        break;
                    }

                    Advance();
                }

                Expect(TokenKind.RBracket, "']'");
                return new InSetConstraint([.. targets.Distinct()]);
            case TokenKind.Comma:
                return ScopeConstraint.Any;
            default:
                throw Error(CedarParseErrorCode.InvalidScope, Current, "invalid action scope constraint");
        }
    }

    private EntityUid ActionEntity()
    {
        var token = Current;
        var uid = ScopeEntity();
        if (uid.Type != "Action" && !uid.Type.EndsWith("::Action", StringComparison.Ordinal))
        {
            throw Error(CedarParseErrorCode.InvalidScope, token, $"expected an action entity (type `Action`), got `{uid.Type}`");
        }

        return uid;
    }

    /// <summary>Consumes a template slot when one comes next (only where templates are allowed, and only the scope's own slot).</summary>
    private bool Slot(string variable)
    {
        if (Current.Kind != TokenKind.Slot || !_allowSlots)
        {
            return false;
        }

        if (TextOf(Current) != "?" + variable)
        {
            throw Error(CedarParseErrorCode.SlotNotAllowed, Current, $"`{TextOf(Current)}` cannot appear in the {variable} scope; only `?{variable}` can");
        }

        Advance();
        return true;
    }

    private EntityUid ScopeEntity()
    {
        if (Current.Kind == TokenKind.Slot)
        {
            throw Error(CedarParseErrorCode.SlotNotAllowed, Current, "template slots are not supported in static policies");
        }

        if (Current.Kind != TokenKind.Ident)
        {
            throw Error(CedarParseErrorCode.InvalidScope, Current, "expected an entity reference such as Type::\"id\"");
        }

        var type = Path(out _, requireEntityId: true);
        var id = StringLiteral(Expect(TokenKind.String, "entity id string"));
        return new EntityUid(type, id);
    }

    /// <summary>Reads <c>A::B::C</c>. With <paramref name="requireEntityId"/>, stops before the final <c>::"id"</c>.</summary>
    private string Path(out Token first, bool requireEntityId = false)
    {
        first = Expect(TokenKind.Ident, "a name");
        CheckName(first);
        var sb = new StringBuilder(TextOf(first));
        while (Current.Kind == TokenKind.ColonColon && Peek().Kind == TokenKind.Ident)
        {
            Advance();
            var part = Advance();
            CheckName(part);
            sb.Append("::").Append(TextOf(part));
        }

        if (requireEntityId)
        {
            Expect(TokenKind.ColonColon, "'::'");
        }

        return sb.ToString();
    }

    /// <summary>An unquoted attribute name or record key; reserved words must be quoted (<c>r["if"]</c>).</summary>
    private string AttributeName(Token t)
    {
        CheckName(t);
        return TextOf(t);
    }

    private void CheckName(Token t)
    {
        if (ReservedLookup.Contains(TextSpan(t)))
        {
            throw Error(CedarParseErrorCode.InvalidIdentifier, t, $"`{TextOf(t)}` is a reserved word and cannot be used as a name");
        }
    }

    // Expr ::= Or | 'if' Expr 'then' Expr 'else' Expr
    private Expr Expression()
    {
        RuntimeHelpers.EnsureSufficientExecutionStack();
        if (++_nesting > MaxNesting)
        {
            throw Error(CedarParseErrorCode.NestingTooDeep, Current, $"expression nested more than {MaxNesting} levels deep");
        }

        try
        {
            if (IsKeyword(Current, "if"))
            {
                var ifToken = Advance();
                var condition = Expression();
                ExpectKeyword("then", CedarParseErrorCode.UnexpectedToken);
                var then = Expression();
                ExpectKeyword("else", CedarParseErrorCode.UnexpectedToken);
                var otherwise = Expression();
                return Checked(new IfExpr(condition, then, otherwise), ifToken);
            }

            return Or();
        }
        finally
        {
            _nesting--;
        }
    }

    private Expr Or()
    {
        var start = Current;
        var first = And();
        if (Current.Kind != TokenKind.OrOr)
        {
            return first;
        }

        var operands = new List<Expr> { first };
        while (Current.Kind == TokenKind.OrOr)
        {
            Advance();
            operands.Add(And());
        }

        return Checked(new LogicExpr([.. operands], isAnd: false), start);
    }

    private Expr And()
    {
        var start = Current;
        var first = Relation();
        if (Current.Kind != TokenKind.AndAnd)
        {
            return first;
        }

        var operands = new List<Expr> { first };
        while (Current.Kind == TokenKind.AndAnd)
        {
            Advance();
            operands.Add(Relation());
        }

        return Checked(new LogicExpr([.. operands], isAnd: true), start);
    }

    private Expr Relation()
    {
        var start = Current;
        var left = Add();
        if (Current.Kind == TokenKind.Ident)
        {
            switch (TextSpan(Current))
            {
                case "has":
                    Advance();
                    return Has(left, start);
                case "like":
                    Advance();
                    var patternToken = Expect(TokenKind.String, "a pattern string after `like`");
                    return Checked(new LikeExpr(left, PatternLiteral(patternToken)), start);
                case "is":
                    Advance();
                    var type = Path(out _);
                    Expr? inExpr = null;
                    if (IsKeyword(Current, "in"))
                    {
                        Advance();
                        inExpr = Add();
                    }

                    return Checked(new IsExpr(left, type, inExpr), start);
            }
        }

        var op = RelOp(Current);
        if (op is null)
        {
            return left;
        }

        Advance();
        var right = Add();
        if (RelOp(Current) is not null || IsKeyword(Current, "has") || IsKeyword(Current, "like") || IsKeyword(Current, "is"))
        {
            throw Error(CedarParseErrorCode.ChainedRelation, Current, "relational operators cannot be chained; add parentheses");
        }

        return Checked(
            op.Value switch
            {
                TokenKind.Less => new BinaryExpr(BinaryOp.Less, left, right),
                TokenKind.LessEq => new BinaryExpr(BinaryOp.LessEq, left, right),
                TokenKind.Greater => new BinaryExpr(BinaryOp.Greater, left, right),
                TokenKind.GreaterEq => new BinaryExpr(BinaryOp.GreaterEq, left, right),
                TokenKind.EqEq => new BinaryExpr(BinaryOp.Eq, left, right),
                TokenKind.NotEq => new BinaryExpr(BinaryOp.NotEq, left, right),
                _ => new BinaryExpr(BinaryOp.In, left, right),
            },
            start);
    }

    private TokenKind? RelOp(Token t)
    {
        switch (t.Kind)
        {
            case TokenKind.Less:
            case TokenKind.LessEq:
            case TokenKind.Greater:
            case TokenKind.GreaterEq:
            case TokenKind.EqEq:
            case TokenKind.NotEq:
                return t.Kind;
            case TokenKind.Assign:
                throw Error(CedarParseErrorCode.UnsupportedOperator, t, "`=` is not an operator; use `==`");
            case TokenKind.Ident when IsKeyword(t, "in"):
                return TokenKind.Ident;
            default:
                return null;
        }
    }

    // `e has a`, `e has "a"`, `e has a.b.c` (sugar for `e has a && e.a has b && e.a.b has c`).
    private Expr Has(Expr target, Token start)
    {
        var path = new List<string>();
        if (Current.Kind == TokenKind.String)
        {
            path.Add(StringLiteral(Advance()));
        }
        else if (Current.Kind == TokenKind.Ident)
        {
            path.Add(AttributeName(Advance()));
            while (Current.Kind == TokenKind.Dot && Peek().Kind == TokenKind.Ident)
            {
                Advance();
                path.Add(AttributeName(Advance()));
            }
        }
        else
        {
            throw Error(CedarParseErrorCode.InvalidOperand, Current, "expected an attribute name after `has`");
        }

        if (path.Count == 1)
        {
            return Checked(new HasAttrExpr(target, path[0]), start);
        }

        var checks = new List<Expr>();
        Expr prefix = target;
        foreach (var attr in path)
        {
            checks.Add(Checked(new HasAttrExpr(prefix, attr), start));
            prefix = Checked(new GetAttrExpr(prefix, attr), start);
        }

        return Checked(new LogicExpr([.. checks], isAnd: true), start);
    }

    private Expr Add()
    {
        var start = Current;
        var left = Mult();
        while (Current.Kind is TokenKind.Plus or TokenKind.Minus)
        {
            var op = Advance().Kind == TokenKind.Plus ? BinaryOp.Add : BinaryOp.Sub;
            left = Checked(new BinaryExpr(op, left, Mult()), start);
        }

        return left;
    }

    private Expr Mult()
    {
        var start = Current;
        var left = Unary();
        while (true)
        {
            if (Current.Kind is TokenKind.Slash or TokenKind.Percent)
            {
                throw Error(CedarParseErrorCode.UnsupportedOperator, Current, $"`{TextOf(Current)}` is not supported by Cedar");
            }

            if (Current.Kind != TokenKind.Star)
            {
                return left;
            }

            Advance();
            left = Checked(new BinaryExpr(BinaryOp.Mul, left, Unary()), start);
        }
    }

    private Expr Unary()
    {
        var start = Current;
        if (Current.Kind is not (TokenKind.Bang or TokenKind.Minus))
        {
            return Member();
        }

        var kind = Current.Kind;
        var count = 0;
        while (Current.Kind == kind)
        {
            Advance();
            count++;
        }

        if (count > 4)
        {
            throw Error(CedarParseErrorCode.TooManyUnaryOperators, start, $"too many `{(kind == TokenKind.Bang ? "!" : "-")}` operators in a row (at most 4)");
        }

        Expr operand;
        if (kind == TokenKind.Minus && Current.Kind == TokenKind.Number && !IsAccessor(Peek()))
        {
            // The last minus belongs to the literal, so -9223372036854775808 is representable.
            var numberToken = Advance();
            var magnitude = BigInteger.Parse(TextOf(numberToken), CultureInfo.InvariantCulture);
            if (magnitude > (BigInteger)long.MaxValue + 1)
            {
                throw Error(CedarParseErrorCode.IntegerOutOfRange, numberToken, $"integer literal -{TextOf(numberToken)} is out of range");
            }

            operand = new LiteralExpr(LongValue.Of((long)-magnitude)) { Offset = numberToken.Start - 1 };
            count--;
        }
        else
        {
            _nesting++;
            try
            {
                operand = Member();
            }
            finally
            {
                _nesting--;
            }
        }

        for (var i = 0; i < count; i++)
        {
            operand = Checked(kind == TokenKind.Bang ? new NotExpr(operand) : new NegExpr(operand), start);
        }

        return operand;
    }

    private static bool IsAccessor(Token t) => t.Kind is TokenKind.Dot or TokenKind.LBracket or TokenKind.LParen;

    private Expr Member()
    {
        var start = Current;
        var item = Primary();
        while (true)
        {
            if (Current.Kind == TokenKind.Dot)
            {
                Advance();
                var nameToken = Expect(TokenKind.Ident, "an attribute or method name after '.'");
                if (Current.Kind == TokenKind.LParen)
                {
                    var args = Arguments();
                    item = Checked(MethodCall(item, TextOf(nameToken), nameToken, args), start);
                }
                else
                {
                    item = Checked(new GetAttrExpr(item, AttributeName(nameToken)), start);
                }
            }
            else if (Current.Kind == TokenKind.LBracket)
            {
                Advance();
                var attrToken = Current;
                if (attrToken.Kind != TokenKind.String)
                {
                    throw Error(CedarParseErrorCode.InvalidOperand, attrToken, "expected a string literal inside [...] attribute access");
                }

                Advance();
                Expect(TokenKind.RBracket, "']'");
                item = Checked(new GetAttrExpr(item, StringLiteral(attrToken)), start);
            }
            else if (Current.Kind == TokenKind.LParen)
            {
                throw Error(CedarParseErrorCode.UnknownFunction, Current, "only named extension functions can be called");
            }
            else
            {
                return item;
            }
        }
    }

    private List<Expr> Arguments()
    {
        Expect(TokenKind.LParen, "'('");
        var args = new List<Expr>();
        while (Current.Kind != TokenKind.RParen)
        {
            args.Add(Expression());
            if (Current.Kind != TokenKind.Comma)
            {
                break;
            }

            Advance();
        }

        Expect(TokenKind.RParen, "')'");
        return args;
    }

    private Expr MethodCall(Expr receiver, string name, Token nameToken, List<Expr> args)
    {
        BinaryOp? binary = name switch
        {
            "contains" => BinaryOp.Contains,
            "containsAll" => BinaryOp.ContainsAll,
            "containsAny" => BinaryOp.ContainsAny,
            "getTag" => BinaryOp.GetTag,
            "hasTag" => BinaryOp.HasTag,
            _ => null,
        };
        if (binary is not null)
        {
            RequireArgs(name, nameToken, args, 1);
            return new BinaryExpr(binary.Value, receiver, args[0]);
        }

        if (name == "isEmpty")
        {
            RequireArgs(name, nameToken, args, 0);
            return new IsEmptyExpr(receiver);
        }

        if (!ExtensionFunctions.All.TryGetValue(name, out var fn) || !fn.IsMethod)
        {
            throw Error(CedarParseErrorCode.UnknownMethod, nameToken, $"unknown method `{name}`");
        }

        return Fold(fn, [receiver, .. args]);
    }

    private void RequireArgs(string name, Token nameToken, List<Expr> args, int count)
    {
        if (args.Count != count)
        {
            throw Error(CedarParseErrorCode.WrongArgumentCount, nameToken, $"`{name}` takes {count} argument(s), got {args.Count}");
        }
    }

    /// <summary>Builds an extension call, evaluating it now when all arguments are constants.</summary>
    /// <remarks>A wrong argument count is an evaluation error in Cedar, not a parse error.</remarks>
    private static Expr Fold(ExtensionFunction fn, Expr[] args)
    {
        if (args.Length != fn.Arity)
        {
            var message = $"`{fn.Name}` takes {fn.Arity} argument(s), got {args.Length}";
            return new ErrorExpr(message) { Unfolded = new ExtensionCallExpr(fn, args) };
        }

        var call = new ExtensionCallExpr(fn, args);
        if (args.All(a => a is LiteralExpr))
        {
            var (value, error) = EvaluateConstant(call);
            return value is not null ? new LiteralExpr(value) { Unfolded = call } : new ErrorExpr(error!) { Unfolded = call };
        }

        return call;
    }

    private static (CedarValue? Value, string? Error) EvaluateConstant(Expr e)
    {
        var ctx = new EvalContext(ConstantUid, ConstantUid, ConstantUid, RecordValue.Empty, EntityStore.Empty);
        var v = e.Eval(ctx);
        return (v, ctx.Error);
    }

    private static readonly EntityUid ConstantUid = new("__const", string.Empty);

    private Expr Primary()
    {
        var t = Current;
        var e = PrimaryAt();
        if (e.Offset < 0)
        {
            e.Offset = t.Start;
        }

        return e;
    }

    private Expr PrimaryAt()
    {
        var t = Current;
        switch (t.Kind)
        {
            case TokenKind.Number:
                Advance();
                if (long.TryParse(TextSpan(t), NumberStyles.None, CultureInfo.InvariantCulture, out var small))
                {
                    return new LiteralExpr(LongValue.Of(small));
                }

                var n = BigInteger.Parse(TextOf(t), CultureInfo.InvariantCulture);
                if (n > long.MaxValue)
                {
                    throw Error(CedarParseErrorCode.IntegerOutOfRange, t, $"integer literal {TextOf(t)} is out of range");
                }

                return new LiteralExpr(LongValue.Of((long)n));
            case TokenKind.String:
                Advance();
                return new LiteralExpr(new StringValue(StringLiteral(t)));
            case TokenKind.Slot:
                throw Error(CedarParseErrorCode.SlotNotAllowed, t, "template slots are not supported in static policies");
            case TokenKind.LParen:
                Advance();
                var inner = Expression();
                Expect(TokenKind.RParen, "')'");
                return inner;
            case TokenKind.LBracket:
                return SetLiteral();
            case TokenKind.LBrace:
                return RecordLiteral();
            case TokenKind.Ident:
                return NamePrimary();
            case TokenKind.Eof:
                throw Error(CedarParseErrorCode.UnexpectedEndOfInput, t, "unexpected end of input; expected an expression");
            default:
                throw Error(CedarParseErrorCode.UnexpectedToken, t, $"unexpected `{TextOf(t)}`; expected an expression");
        }
    }

    private Expr NamePrimary()
    {
        var t = Current;
        if (Peek().Kind != TokenKind.ColonColon)
        {
            switch (TextSpan(t))
            {
                case "true":
                    Advance();
                    return new LiteralExpr(BoolValue.True);
                case "false":
                    Advance();
                    return new LiteralExpr(BoolValue.False);
                case "principal":
                    Advance();
                    return new VarExpr(Variable.Principal);
                case "action":
                    Advance();
                    return new VarExpr(Variable.Action);
                case "resource":
                    Advance();
                    return new VarExpr(Variable.Resource);
                case "context":
                    Advance();
                    return new VarExpr(Variable.Context);
            }

            var text = TextOf(t);
            if (Peek().Kind == TokenKind.LParen)
            {
                Advance();
                if (!ExtensionFunctions.All.TryGetValue(text, out var fn) || fn.IsMethod)
                {
                    throw Error(CedarParseErrorCode.UnknownFunction, t, $"unknown function `{text}`");
                }

                return Fold(fn, [.. Arguments()]);
            }

            throw Error(CedarParseErrorCode.InvalidIdentifier, t, $"unknown variable or unexpected name `{text}`");
        }

        var path = Path(out _);
        if (Current.Kind == TokenKind.ColonColon && Peek().Kind == TokenKind.String)
        {
            Advance();
            var id = StringLiteral(Advance());
            return new LiteralExpr(new EntityUid(path, id));
        }

        if (Current.Kind == TokenKind.LParen)
        {
            throw Error(CedarParseErrorCode.UnknownFunction, t, $"unknown function `{path}`");
        }

        throw Error(CedarParseErrorCode.UnexpectedToken, Current, $"expected ::\"id\" after `{path}`");
    }

    private Expr SetLiteral()
    {
        var start = Advance();
        var items = new List<Expr>();
        while (Current.Kind != TokenKind.RBracket)
        {
            items.Add(Expression());
            if (Current.Kind != TokenKind.Comma)
            {
                break;
            }

            Advance();
        }

        Expect(TokenKind.RBracket, "']'");
        var set = Checked(new SetExpr([.. items]), start);
        return items.All(i => i is LiteralExpr) ? new LiteralExpr(EvaluateConstant(set).Value!) { Unfolded = set, Offset = set.Offset } : set;
    }

    private Expr RecordLiteral()
    {
        var start = Advance();
        var keys = new List<string>();
        var values = new List<Expr>();
        while (Current.Kind != TokenKind.RBrace)
        {
            var keyToken = Current;
            string key;
            if (keyToken.Kind == TokenKind.String)
            {
                key = StringLiteral(Advance());
            }
            else if (keyToken.Kind == TokenKind.Ident)
            {
                key = AttributeName(Advance());
            }
            else
            {
                throw Error(CedarParseErrorCode.InvalidOperand, keyToken, "expected an identifier or string as record key");
            }

            if (keys.Contains(key, StringComparer.Ordinal))
            {
                throw Error(CedarParseErrorCode.DuplicateRecordKey, keyToken, $"duplicate record key `{key}`");
            }

            Expect(TokenKind.Colon, "':'");
            keys.Add(key);
            values.Add(Expression());
            if (Current.Kind != TokenKind.Comma)
            {
                break;
            }

            Advance();
        }

        Expect(TokenKind.RBrace, "'}'");
        var record = Checked(new RecordExpr([.. keys], [.. values]), start);
        return values.All(v => v is LiteralExpr) ? new LiteralExpr(EvaluateConstant(record).Value!) { Unfolded = record, Offset = record.Offset } : record;
    }

    private Expr Checked(Expr e, Token at)
    {
        if (e.Offset < 0)
        {
            e.Offset = at.Start;
        }

        if (e.Depth > MaxTreeDepth)
        {
            throw Error(CedarParseErrorCode.NestingTooDeep, at, $"expression deeper than {MaxTreeDepth} levels");
        }

        return e;
    }

    private string StringLiteral(Token t) => StringLiteral(_text, t);

    /// <summary>The value of a string token (escapes decoded).</summary>
    internal static string StringLiteral(string text, Token t)
    {
        var body = text.AsSpan(t.Start + 1, t.Length - 2);
        if (body.IndexOfAny('\\', '\r') < 0)
        {
            return body.ToString();
        }

        var sb = new StringBuilder(t.Length);
        Unescape(text, t, c => sb.Append(c.GetValueOrDefault()), allowStar: false);
        return sb.ToString();
    }

    private Pattern PatternLiteral(Token t)
    {
        var elements = new List<char?>();
        Unescape(_text, t, c => elements.Add(c), allowStar: true);
        return new Pattern(elements);
    }

    /// <summary>Decodes a string token's escapes. In patterns an unescaped <c>*</c> is reported as null (wildcard).</summary>
    private static void Unescape(string text, Token t, Action<char?> emit, bool allowStar)
    {
        CedarParseException Error(CedarParseErrorCode code, int offset, string detail) => Tokenizer.Error(text, code, offset, detail);

        var end = t.End - 1;
        var i = t.Start + 1;
        while (i < end)
        {
            var c = text[i];
            if (c == '\r')
            {
                throw Error(CedarParseErrorCode.InvalidEscape, i, "bare carriage return in string literal");
            }

            if (c != '\\')
            {
                emit(allowStar && c == '*' ? null : c);
                i++;
                continue;
            }

            var escStart = i;
            if (i + 1 >= end)
            {
                throw Error(CedarParseErrorCode.InvalidEscape, escStart, "lone backslash at end of string");
            }

            var e = text[i + 1];
            i += 2;
            switch (e)
            {
                case 'n': emit('\n'); break;
                case 'r': emit('\r'); break;
                case 't': emit('\t'); break;
                case '\\': emit('\\'); break;
                case '0': emit('\0'); break;
                case '\'': emit('\''); break;
                case '"': emit('"'); break;
                case '*' when allowStar: emit('*'); break;
                case 'x':
                    if (i + 2 > end || !char.IsAsciiHexDigit(text[i]) || !char.IsAsciiHexDigit(text[i + 1]))
                    {
                        throw Error(CedarParseErrorCode.InvalidEscape, escStart, "invalid \\x escape");
                    }

                    var x = int.Parse(text.AsSpan(i, 2), NumberStyles.HexNumber, CultureInfo.InvariantCulture);
                    if (x > 0x7F)
                    {
                        throw Error(CedarParseErrorCode.InvalidEscape, escStart, "\\x escape above 0x7F");
                    }

                    emit(EmitStar((char)x, allowStar));
                    i += 2;
                    break;
                case 'u':
                    if (i >= end || text[i] != '{')
                    {
                        throw Error(CedarParseErrorCode.InvalidEscape, escStart, "invalid \\u escape; expected \\u{...}");
                    }

                    i++;
                    var digits = 0;
                    var cp = 0;
                    while (i < end && text[i] != '}')
                    {
                        if (text[i] == '_' && digits > 0)
                        {
                            i++;
                            continue;
                        }

                        if (!char.IsAsciiHexDigit(text[i]) || ++digits > 6)
                        {
                            throw Error(CedarParseErrorCode.InvalidEscape, escStart, "invalid \\u{...} escape");
                        }

                        cp = (cp << 4) | (char.IsAsciiDigit(text[i]) ? text[i] - '0' : (text[i] | 0x20) - 'a' + 10);
                        i++;
                    }

                    if (i >= end || digits == 0 || cp > 0x10FFFF || cp is >= 0xD800 and <= 0xDFFF)
                    {
                        throw Error(CedarParseErrorCode.InvalidEscape, escStart, "invalid \\u{...} escape");
                    }

                    i++;
                    var s = char.ConvertFromUtf32(cp);
                    if (s.Length == 1)
                    {
                        emit(EmitStar(s[0], allowStar));
                    }
                    else
                    {
                        emit(s[0]);
                        emit(s[1]);
                    }

                    break;
                default:
                    throw Error(CedarParseErrorCode.InvalidEscape, escStart, $"invalid escape sequence \\{e}");
            }
        }
    }

    // An escaped character that decodes to '*' still acts as a wildcard in Cedar patterns.
    private static char? EmitStar(char c, bool allowStar) => allowStar && c == '*' ? null : c;

    private Token Advance()
    {
        var t = _tokens[_pos];
        if (_pos < _tokens.Count - 1)
        {
            _pos++;
        }

        return t;
    }

    private Token Expect(TokenKind kind, string what)
    {
        if (Current.Kind != kind)
        {
            throw Current.Kind == TokenKind.Eof
                ? Error(CedarParseErrorCode.UnexpectedEndOfInput, Current, $"unexpected end of input; expected {what}")
                : Error(CedarParseErrorCode.UnexpectedToken, Current, $"unexpected `{TextOf(Current)}`; expected {what}");
        }

        return Advance();
    }

    private void ExpectKeyword(string keyword, CedarParseErrorCode code)
    {
        if (!IsKeyword(Current, keyword))
        {
            throw Current.Kind == TokenKind.Eof
                ? Error(CedarParseErrorCode.UnexpectedEndOfInput, Current, $"unexpected end of input; expected `{keyword}`")
                : Error(code, Current, $"unexpected `{TextOf(Current)}`; expected `{keyword}`");
        }

        Advance();
    }

    private bool IsKeyword(Token t, string keyword) =>
        t.Kind == TokenKind.Ident && t.Length == keyword.Length && string.CompareOrdinal(_text, t.Start, keyword, 0, keyword.Length) == 0;

    private string TextOf(Token t) => _text.Substring(t.Start, t.Length);

    private ReadOnlySpan<char> TextSpan(Token t) => _text.AsSpan(t.Start, t.Length);

    private CedarParseException Error(CedarParseErrorCode code, Token at, string detail) => Error(code, at.Start, detail);

    private CedarParseException Error(CedarParseErrorCode code, int offset, string detail) =>
        Tokenizer.Error(_text, code, offset, detail);
}
