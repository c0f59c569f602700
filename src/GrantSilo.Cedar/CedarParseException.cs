namespace GrantSilo.Cedar;

/// <summary>What went wrong when parsing Cedar policy text.</summary>
public enum CedarParseErrorCode
{
    /// <summary>A character that cannot start any token.</summary>
    UnexpectedCharacter,
    /// <summary>A string literal without its closing quote.</summary>
    UnterminatedString,
    /// <summary>An invalid escape sequence in a string literal.</summary>
    InvalidEscape,
    /// <summary>A token that the grammar does not allow here.</summary>
    UnexpectedToken,
    /// <summary>The text ended in the middle of a policy.</summary>
    UnexpectedEndOfInput,
    /// <summary>An integer literal outside the 64-bit range.</summary>
    IntegerOutOfRange,
    /// <summary>A policy effect other than <c>permit</c> or <c>forbid</c>.</summary>
    InvalidEffect,
    /// <summary>A malformed scope (wrong variables, order, or operator).</summary>
    InvalidScope,
    /// <summary>A condition other than <c>when</c>/<c>unless</c>, or one with an empty body.</summary>
    InvalidCondition,
    /// <summary>The same annotation appears twice on one policy.</summary>
    DuplicateAnnotation,
    /// <summary>A name that is not a variable, or a reserved word used as a name.</summary>
    InvalidIdentifier,
    /// <summary>A call to a function that does not exist.</summary>
    UnknownFunction,
    /// <summary>A call to a method that does not exist.</summary>
    UnknownMethod,
    /// <summary>A function or method called with the wrong number of arguments.</summary>
    WrongArgumentCount,
    /// <summary>Two relational operators chained without parentheses (<c>a &lt; b &lt; c</c>).</summary>
    ChainedRelation,
    /// <summary>An operator Cedar does not support (<c>/</c>, <c>%</c>, <c>=</c>).</summary>
    UnsupportedOperator,
    /// <summary>More than four consecutive <c>!</c> or <c>-</c> operators.</summary>
    TooManyUnaryOperators,
    /// <summary>A record literal with the same key twice.</summary>
    DuplicateRecordKey,
    /// <summary>An invalid attribute name or <c>has</c>/<c>is</c> operand.</summary>
    InvalidOperand,
    /// <summary>Template slots (<c>?principal</c>) in a static policy.</summary>
    SlotNotAllowed,
    /// <summary>Expressions nested deeper than the engine allows.</summary>
    NestingTooDeep,
    /// <summary>Two policies with the same id.</summary>
    DuplicatePolicyId,
}

/// <summary>A position in the source text: 0-based character offset, 1-based line and column.</summary>
public readonly record struct SourcePosition(int Offset, int Line, int Column)
{
    internal static SourcePosition At(string text, int offset)
    {
        offset = Math.Clamp(offset, 0, text.Length);
        int line = 1, column = 1;
        for (var i = 0; i < offset; i++)
        {
            if (text[i] == '\n')
            {
                line++;
                column = 1;
            }
            else
            {
                column++;
            }
        }

        return new SourcePosition(offset, line, column);
    }

    /// <inheritdoc />
    public override string ToString() => $"line {Line}, column {Column}";
}

/// <summary>Cedar policy text could not be parsed. <see cref="Code"/> says why, <see cref="Position"/> says where.</summary>
public sealed class CedarParseException : Exception
{
    /// <summary>Creates the exception.</summary>
    public CedarParseException(CedarParseErrorCode code, SourcePosition position, string detail)
        : base($"{detail} at {position}")
    {
        Code = code;
        Position = position;
        Detail = detail;
    }

    /// <summary>Creates the exception with a generic message.</summary>
    public CedarParseException()
        : this(CedarParseErrorCode.UnexpectedToken, default, "parse error")
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    public CedarParseException(string message)
        : this(CedarParseErrorCode.UnexpectedToken, default, message)
    {
    }

    /// <summary>Creates the exception with a message and inner exception.</summary>
    public CedarParseException(string message, Exception innerException)
        : base(message, innerException)
    {
        Detail = message;
    }

    /// <summary>The kind of error, for programs to switch on.</summary>
    public CedarParseErrorCode Code { get; }

    /// <summary>Where in the text the error was found.</summary>
    public SourcePosition Position { get; }

    /// <summary>The error description without the position.</summary>
    public string Detail { get; }
}
