using System.Text;
using GrantSilo.Cedar.Parsing;

namespace GrantSilo.Cedar.Schema;

/// <summary>
/// Recursive-descent parser for Cedar's human-readable schema format (<c>.cedarschema</c>), one method per grammar
/// rule. Produces unresolved declarations; <see cref="SchemaBuilder"/> resolves names.
/// </summary>
internal sealed class SchemaTextParser
{
    private const int MaxNesting = 200;

    private readonly string _text;
    private readonly List<Token> _tokens;
    private int _pos;
    private int _nesting;

    private SchemaTextParser(string text)
    {
        _text = text;
        try
        {
            _tokens = Tokenizer.Tokenize(text, schema: true);
        }
        catch (CedarParseException e)
        {
            throw new CedarSchemaException(MapCode(e.Code), e.Position, e.Detail);
        }
    }

    public static List<RawNamespace> Parse(string text)
    {
        var parser = new SchemaTextParser(text);
        try
        {
            return parser.Schema();
        }
        catch (CedarParseException e)
        {
            throw new CedarSchemaException(MapCode(e.Code), e.Position, e.Detail);
        }
    }

    private static CedarSchemaErrorCode MapCode(CedarParseErrorCode code) => code switch
    {
        CedarParseErrorCode.UnexpectedCharacter => CedarSchemaErrorCode.UnexpectedCharacter,
        CedarParseErrorCode.UnterminatedString => CedarSchemaErrorCode.UnterminatedString,
        CedarParseErrorCode.InvalidEscape => CedarSchemaErrorCode.InvalidEscape,
        CedarParseErrorCode.UnexpectedEndOfInput => CedarSchemaErrorCode.UnexpectedEndOfInput,
        _ => CedarSchemaErrorCode.UnexpectedToken,
    };

    private Token Current => _tokens[_pos];

    // Schema ::= {Namespace | Decl}
    private List<RawNamespace> Schema()
    {
        var root = new RawNamespace(string.Empty, 0);
        var namespaces = new List<RawNamespace> { root };
        while (Current.Kind != TokenKind.Eof)
        {
            Annotations();
            if (IsKeyword("namespace"))
            {
                var start = Advance();
                var name = Path();
                if (namespaces.Any(n => n.Name == name))
                {
                    throw Error(CedarSchemaErrorCode.DuplicateDeclaration, start, $"namespace `{name}` is declared twice");
                }

                var ns = new RawNamespace(name, start.Start);
                Expect(TokenKind.LBrace, "'{'");
                while (Current.Kind != TokenKind.RBrace)
                {
                    Annotations();
                    Declaration(ns);
                }

                Advance();
                namespaces.Add(ns);
            }
            else
            {
                Declaration(root);
            }
        }

        return namespaces;
    }

    // Annotation ::= '@' IDENT ['(' STR ')']; annotations carry no meaning for validation.
    private void Annotations()
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        while (Current.Kind == TokenKind.At)
        {
            Advance();
            var name = Expect(TokenKind.Ident, "annotation name");
            if (!seen.Add(TextOf(name)))
            {
                throw Error(CedarSchemaErrorCode.DuplicateDeclaration, name, $"duplicate annotation @{TextOf(name)}");
            }

            if (Current.Kind == TokenKind.LParen)
            {
                Advance();
                Expect(TokenKind.String, "annotation value");
                Expect(TokenKind.RParen, "')'");
            }
        }
    }

    // Decl ::= Entity | Action | TypeDecl
    private void Declaration(RawNamespace ns)
    {
        if (IsKeyword("entity"))
        {
            Entity(ns);
        }
        else if (IsKeyword("action"))
        {
            Action(ns);
        }
        else if (IsKeyword("type"))
        {
            Advance();
            var nameToken = Identifier("a common type name");
            Expect(TokenKind.Assign, "'='");
            var type = Type();
            Expect(TokenKind.Semicolon, "';'");
            ns.CommonTypes.Add((TextOf(nameToken), type, nameToken.Start));
        }
        else
        {
            var code = Current.Kind == TokenKind.Eof ? CedarSchemaErrorCode.UnexpectedEndOfInput : CedarSchemaErrorCode.UnexpectedToken;
            throw Error(code, Current, $"unexpected {Describe(Current)}; expected `entity`, `action`, `type` or `namespace`");
        }
    }

    // Entity ::= 'entity' Idents ['in' EntOrTyps] [['='] RecType] ['tags' Type] ';'
    //          | 'entity' Idents 'enum' '[' STR {',' STR} ']' ';'
    private void Entity(RawNamespace ns)
    {
        Advance();
        var names = new List<Token> { Identifier("an entity type name") };
        while (Current.Kind == TokenKind.Comma)
        {
            Advance();
            names.Add(Identifier("an entity type name"));
        }

        List<string>? choices = null;
        var parents = new List<(string, int)>();
        RawType? shape = null;
        RawType? tags = null;
        if (IsKeyword("enum"))
        {
            Advance();
            Expect(TokenKind.LBracket, "'['");
            choices = [];
            if (Current.Kind == TokenKind.String)
            {
                // STR {',' STR}: no trailing comma, as in Cedar.
                choices.Add(Parser.StringLiteral(_text, Advance()));
                while (Current.Kind == TokenKind.Comma)
                {
                    Advance();
                    choices.Add(Parser.StringLiteral(_text, Expect(TokenKind.String, "an entity id string")));
                }
            }

            Expect(TokenKind.RBracket, "']'");
            if (choices.Count == 0)
            {
                throw Error(CedarSchemaErrorCode.InvalidEnum, names[0], "an enumerated entity type needs at least one choice");
            }
        }
        else
        {
            if (IsKeyword("in"))
            {
                Advance();
                parents = EntityTypeList();
            }

            if (Current.Kind == TokenKind.Assign)
            {
                Advance();
                if (Current.Kind != TokenKind.LBrace)
                {
                    throw Error(CedarSchemaErrorCode.UnexpectedToken, Current, $"unexpected {Describe(Current)}; expected a record type `{{ ... }}`");
                }
            }

            if (Current.Kind == TokenKind.LBrace)
            {
                shape = RecordType();
            }

            if (IsKeyword("tags"))
            {
                Advance();
                tags = Type();
            }
        }

        Expect(TokenKind.Semicolon, "';'");
        foreach (var n in names)
        {
            ns.EntityTypes.Add(new RawEntityType(TextOf(n), parents, shape, tags, choices, n.Start));
        }
    }

    // Action ::= 'action' Names ['in' RefOrRefs] [AppliesTo] [ActAttrs] ';'
    private void Action(RawNamespace ns)
    {
        Advance();
        var names = new List<(string, int)> { Name() };
        while (Current.Kind == TokenKind.Comma)
        {
            Advance();
            names.Add(Name());
        }

        var parents = new List<RawActionRef>();
        if (IsKeyword("in"))
        {
            Advance();
            if (Current.Kind == TokenKind.LBracket)
            {
                Advance();
                parents.Add(ActionRef());
                while (Current.Kind == TokenKind.Comma)
                {
                    Advance();
                    parents.Add(ActionRef());
                }

                Expect(TokenKind.RBracket, "']'");
            }
            else
            {
                parents.Add(ActionRef());
            }
        }

        var hasAppliesTo = false;
        var principals = new List<(string, int)>();
        var resources = new List<(string, int)>();
        RawType? context = null;
        if (IsKeyword("appliesTo"))
        {
            hasAppliesTo = true;
            Advance();
            Expect(TokenKind.LBrace, "'{'");
            var seen = new HashSet<string>(StringComparer.Ordinal);
            while (Current.Kind != TokenKind.RBrace)
            {
                var key = Expect(TokenKind.Ident, "`principal`, `resource` or `context`");
                var keyText = TextOf(key);
                if (!seen.Add(keyText))
                {
                    throw Error(CedarSchemaErrorCode.DuplicateDeclaration, key, $"`{keyText}` declared twice in appliesTo");
                }

                Expect(TokenKind.Colon, "':'");
                switch (keyText)
                {
                    case "principal":
                        principals = EntityTypeList();
                        break;
                    case "resource":
                        resources = EntityTypeList();
                        break;
                    case "context":
                        context = Current.Kind == TokenKind.LBrace ? RecordType() : NamedType();
                        break;
                    default:
                        throw Error(CedarSchemaErrorCode.UnexpectedToken, key, $"unexpected `{keyText}` in appliesTo; expected `principal`, `resource` or `context`");
                }

                if (Current.Kind != TokenKind.Comma)
                {
                    break;
                }

                Advance();
            }

            var close = Expect(TokenKind.RBrace, "'}'");
            foreach (var required in new[] { "principal", "resource" })
            {
                if (!seen.Contains(required))
                {
                    throw Error(CedarSchemaErrorCode.InvalidAppliesTo, close, $"appliesTo of action `{names[0].Item1}` has no `{required}` declaration");
                }
            }

            if (principals.Count == 0 || resources.Count == 0)
            {
                throw Error(CedarSchemaErrorCode.InvalidAppliesTo, close, $"appliesTo of action `{names[0].Item1}` lists no {(principals.Count == 0 ? "principal" : "resource")} types; leave out appliesTo for an action that applies to nothing");
            }
        }

        if (IsKeyword("attributes"))
        {
            // Deprecated action attributes are accepted and ignored, as Cedar does.
            Advance();
            RecordType();
        }

        Expect(TokenKind.Semicolon, "';'");
        foreach (var (name, offset) in names)
        {
            ns.Actions.Add(new RawAction(name, parents, hasAppliesTo, principals, resources, context, offset));
        }
    }

    // Ref ::= Path '::' STR | Name
    private RawActionRef ActionRef()
    {
        var start = Current;
        if (Current.Kind == TokenKind.String)
        {
            return new RawActionRef(null, Parser.StringLiteral(_text, Advance()), start.Start);
        }

        var first = Identifier("an action name");
        var sb = new StringBuilder(TextOf(first));
        while (Current.Kind == TokenKind.ColonColon)
        {
            Advance();
            if (Current.Kind == TokenKind.String)
            {
                return new RawActionRef(sb.ToString(), Parser.StringLiteral(_text, Advance()), start.Start);
            }

            sb.Append("::").Append(TextOf(Identifier("a name")));
        }

        if (sb.ToString().Contains("::", StringComparison.Ordinal))
        {
            throw Error(CedarSchemaErrorCode.UnexpectedToken, Current, "expected ::\"id\" after the action type");
        }

        return new RawActionRef(null, sb.ToString(), start.Start);
    }

    // EntOrTyps ::= Path | '[' [Path {',' Path}] ']'
    private List<(string, int)> EntityTypeList()
    {
        var list = new List<(string, int)>();
        if (Current.Kind != TokenKind.LBracket)
        {
            var t = Current;
            list.Add((Path(), t.Start));
            return list;
        }

        Advance();
        if (Current.Kind != TokenKind.RBracket)
        {
            var first = Current;
            list.Add((Path(), first.Start));
            while (Current.Kind == TokenKind.Comma)
            {
                Advance();
                var t = Current;
                list.Add((Path(), t.Start));
            }
        }

        Expect(TokenKind.RBracket, "']'");
        return list;
    }

    // Type ::= Path | 'Set' '<' Type '>' | RecType
    private RawType Type()
    {
        if (++_nesting > MaxNesting)
        {
            throw Error(CedarSchemaErrorCode.UnexpectedToken, Current, $"types nested more than {MaxNesting} levels deep");
        }

        try
        {
            if (Current.Kind == TokenKind.LBrace)
            {
                return RecordType();
            }

            if (IsKeyword("Set") && _tokens[_pos + 1].Kind == TokenKind.Less)
            {
                var start = Advance();
                Advance();
                var element = Type();
                Expect(TokenKind.Greater, "'>'");
                return new RawSetType(element, start.Start);
            }

            return NamedType();
        }
        finally
        {
            _nesting--;
        }
    }

    private RawNamedType NamedType()
    {
        var t = Current;
        return new RawNamedType(Path(), NameKind.EntityOrCommon, t.Start);
    }

    // RecType ::= '{' [AttrDecl {',' AttrDecl} [',']] '}';  AttrDecl ::= Annotations Name ['?'] ':' Type
    private RawRecordType RecordType()
    {
        var start = Expect(TokenKind.LBrace, "'{'");
        var attributes = new List<RawAttribute>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        while (Current.Kind != TokenKind.RBrace)
        {
            Annotations();
            var (name, offset) = Name();
            // As in Cedar, a repeated attribute replaces the earlier declaration.
            if (!seen.Add(name))
            {
                attributes.RemoveAll(a => a.Name == name);
            }

            var required = true;
            if (Current.Kind == TokenKind.Question)
            {
                Advance();
                required = false;
            }

            Expect(TokenKind.Colon, "':'");
            attributes.Add(new RawAttribute(name, Type(), required, offset));
            if (Current.Kind != TokenKind.Comma)
            {
                break;
            }

            Advance();
        }

        Expect(TokenKind.RBrace, "'}'");
        return new RawRecordType(attributes, start.Start);
    }

    // Name ::= IDENT | STR
    private (string Name, int Offset) Name()
    {
        var t = Current;
        if (t.Kind == TokenKind.String)
        {
            Advance();
            return (Parser.StringLiteral(_text, t), t.Start);
        }

        Identifier("a name");
        return (TextOf(t), t.Start);
    }

    // Path ::= IDENT {'::' IDENT}
    private string Path()
    {
        var sb = new StringBuilder(TextOf(Identifier("a name")));
        while (Current.Kind == TokenKind.ColonColon && _tokens[_pos + 1].Kind == TokenKind.Ident)
        {
            Advance();
            sb.Append("::").Append(TextOf(Identifier("a name")));
        }

        return sb.ToString();
    }

    /// <summary>An identifier that may name something: not one of Cedar's reserved words (quote it as a string where names may be strings).</summary>
    private Token Identifier(string what)
    {
        var t = Expect(TokenKind.Ident, what);
        if (SchemaNames.IsReserved(TextOf(t)))
        {
            throw Error(CedarSchemaErrorCode.ReservedName, t, $"`{TextOf(t)}` is a reserved word and cannot be a name here");
        }

        return t;
    }

    private bool IsKeyword(string keyword) =>
        Current.Kind == TokenKind.Ident && Current.Length == keyword.Length && string.CompareOrdinal(_text, Current.Start, keyword, 0, keyword.Length) == 0;

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
                ? Error(CedarSchemaErrorCode.UnexpectedEndOfInput, Current, $"unexpected end of input; expected {what}")
                : Error(CedarSchemaErrorCode.UnexpectedToken, Current, $"unexpected {Describe(Current)}; expected {what}");
        }

        return Advance();
    }

    private string Describe(Token t) => t.Kind == TokenKind.Eof ? "end of input" : $"`{TextOf(t)}`";

    private string TextOf(Token t) => _text.Substring(t.Start, t.Length);

    private CedarSchemaException Error(CedarSchemaErrorCode code, Token at, string detail) => Error(code, at.Start, detail);

    private CedarSchemaException Error(CedarSchemaErrorCode code, int offset, string detail) =>
        new(code, SourcePosition.At(_text, offset), detail);
}
