namespace GrantSilo.Cedar.Parsing;

internal enum TokenKind
{
    Ident,
    Number,
    String,
    Slot,
    At,
    Dot,
    Comma,
    Semicolon,
    Colon,
    ColonColon,
    LParen,
    RParen,
    LBrace,
    RBrace,
    LBracket,
    RBracket,
    EqEq,
    NotEq,
    Less,
    LessEq,
    Greater,
    GreaterEq,
    OrOr,
    AndAnd,
    Plus,
    Minus,
    Star,
    Slash,
    Percent,
    Bang,
    Assign,
    Question,
    Eof,
}

/// <summary>A token: its kind and the span of source text it covers (strings include their quotes).</summary>
internal readonly record struct Token(TokenKind Kind, int Start, int Length)
{
    public int End => Start + Length;
}

/// <summary>Turns Cedar policy text into positioned tokens ending with <see cref="TokenKind.Eof"/>.</summary>
internal static class Tokenizer
{
    public static List<Token> Tokenize(string text, bool schema = false)
    {
        var tokens = new List<Token>(text.Length / 3);
        var i = 0;
        while (true)
        {
            while (i < text.Length)
            {
                if (char.IsWhiteSpace(text[i]))
                {
                    i++;
                }
                else if (text[i] == '/' && i + 1 < text.Length && text[i + 1] == '/')
                {
                    while (i < text.Length && text[i] != '\n' && text[i] != '\r')
                    {
                        i++;
                    }
                }
                else
                {
                    break;
                }
            }

            if (i >= text.Length)
            {
                tokens.Add(new Token(TokenKind.Eof, text.Length, 0));
                return tokens;
            }

            var start = i;
            var c = text[i];
            if (IsIdentStart(c))
            {
                while (i < text.Length && IsIdentPart(text[i]))
                {
                    i++;
                }

                tokens.Add(new Token(TokenKind.Ident, start, i - start));
                continue;
            }

            if (char.IsAsciiDigit(c))
            {
                while (i < text.Length && char.IsAsciiDigit(text[i]))
                {
                    i++;
                }

                tokens.Add(new Token(TokenKind.Number, start, i - start));
                continue;
            }

            if (c == '"')
            {
                i++;
                while (true)
                {
                    if (i >= text.Length)
                    {
                        throw Error(text, CedarParseErrorCode.UnterminatedString, start, "unterminated string literal");
                    }

                    if (text[i] == '\\')
                    {
                        i += 2;
                        continue;
                    }

                    if (text[i] == '"')
                    {
                        i++;
                        break;
                    }

                    i++;
                }

                if (i > text.Length)
                {
                    throw Error(text, CedarParseErrorCode.UnterminatedString, start, "unterminated string literal");
                }

                tokens.Add(new Token(TokenKind.String, start, i - start));
                continue;
            }

            if (!schema && c == '?' && i + 1 < text.Length && IsIdentStart(text[i + 1]))
            {
                i++;
                while (i < text.Length && IsIdentPart(text[i]))
                {
                    i++;
                }

                tokens.Add(new Token(TokenKind.Slot, start, i - start));
                continue;
            }

            var next = i + 1 < text.Length ? text[i + 1] : '\0';
            var (kind, length) = c switch
            {
                '@' => (TokenKind.At, 1),
                '.' => (TokenKind.Dot, 1),
                ',' => (TokenKind.Comma, 1),
                ';' => (TokenKind.Semicolon, 1),
                ':' when next == ':' => (TokenKind.ColonColon, 2),
                ':' => (TokenKind.Colon, 1),
                '(' => (TokenKind.LParen, 1),
                ')' => (TokenKind.RParen, 1),
                '{' => (TokenKind.LBrace, 1),
                '}' => (TokenKind.RBrace, 1),
                '[' => (TokenKind.LBracket, 1),
                ']' => (TokenKind.RBracket, 1),
                '=' when next == '=' => (TokenKind.EqEq, 2),
                '=' => (TokenKind.Assign, 1),
                '!' when next == '=' => (TokenKind.NotEq, 2),
                '!' => (TokenKind.Bang, 1),
                '<' when next == '=' => (TokenKind.LessEq, 2),
                '<' => (TokenKind.Less, 1),
                '>' when next == '=' => (TokenKind.GreaterEq, 2),
                '>' => (TokenKind.Greater, 1),
                '|' when next == '|' => (TokenKind.OrOr, 2),
                '&' when next == '&' => (TokenKind.AndAnd, 2),
                '+' => (TokenKind.Plus, 1),
                '-' => (TokenKind.Minus, 1),
                '*' => (TokenKind.Star, 1),
                '/' => (TokenKind.Slash, 1),
                '%' => (TokenKind.Percent, 1),
                '?' when schema => (TokenKind.Question, 1),
                _ => (TokenKind.Eof, 0),
            };

            if (length == 0)
            {
                throw Error(text, CedarParseErrorCode.UnexpectedCharacter, start, $"unexpected character '{c}'");
            }

            tokens.Add(new Token(kind, start, length));
            i += length;
        }
    }

    internal static CedarParseException Error(string text, CedarParseErrorCode code, int offset, string detail) =>
        new(code, SourcePosition.At(text, offset), detail);

    private static bool IsIdentStart(char c) => char.IsAsciiLetter(c) || c == '_';

    private static bool IsIdentPart(char c) => char.IsAsciiLetterOrDigit(c) || c == '_';
}
