namespace GrantSilo.Cedar;

/// <summary>Why a Cedar schema was rejected.</summary>
public enum CedarSchemaErrorCode
{
    /// <summary>A character that cannot start any token.</summary>
    UnexpectedCharacter,
    /// <summary>A string literal without its closing quote.</summary>
    UnterminatedString,
    /// <summary>An invalid escape sequence in a string literal.</summary>
    InvalidEscape,
    /// <summary>A token that the grammar does not allow here.</summary>
    UnexpectedToken,
    /// <summary>The text ended in the middle of a declaration.</summary>
    UnexpectedEndOfInput,
    /// <summary>JSON schema text that is not well-formed JSON or does not have the shape of a Cedar JSON schema.</summary>
    InvalidJson,
    /// <summary>An entity type, action, common type or attribute declared twice.</summary>
    DuplicateDeclaration,
    /// <summary>A type name that resolves to no common type, entity type or built-in type.</summary>
    UndefinedType,
    /// <summary>An entity type in <c>in</c> or <c>appliesTo</c> that is not declared.</summary>
    UndefinedEntityType,
    /// <summary>An action group in an action's <c>in</c> list that is not declared.</summary>
    UndefinedAction,
    /// <summary>Common types that refer to each other in a cycle.</summary>
    CommonTypeCycle,
    /// <summary>An action that is (transitively) a member of itself.</summary>
    ActionHierarchyCycle,
    /// <summary>An action context that is not a record type.</summary>
    InvalidContextType,
    /// <summary>An entity shape that is not a record type.</summary>
    InvalidShape,
    /// <summary>A name Cedar reserves (<c>__cedar</c>, or a built-in type name for a common type).</summary>
    ReservedName,
    /// <summary>An enumerated entity type with no choices.</summary>
    InvalidEnum,
    /// <summary>An <c>appliesTo</c> without principal or resource types (leave it out for an action that applies to nothing).</summary>
    InvalidAppliesTo,
}

/// <summary>A Cedar schema could not be parsed or is inconsistent. <see cref="Code"/> says why, <see cref="Position"/> says where.</summary>
public sealed class CedarSchemaException : Exception
{
    /// <summary>Creates the exception.</summary>
    /// <remarks>A JSON schema error found after parsing has no line (0); its detail names the JSON path instead.</remarks>
    public CedarSchemaException(CedarSchemaErrorCode code, SourcePosition position, string detail)
        : base(position.Line == 0 ? detail : $"{detail} at {position}")
    {
        Code = code;
        Position = position;
        Detail = detail;
    }

    /// <summary>Creates the exception with a generic message.</summary>
    public CedarSchemaException()
        : this(CedarSchemaErrorCode.UnexpectedToken, default, "schema error")
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    public CedarSchemaException(string message)
        : this(CedarSchemaErrorCode.UnexpectedToken, default, message)
    {
    }

    /// <summary>Creates the exception with a message and inner exception.</summary>
    public CedarSchemaException(string message, Exception innerException)
        : base(message, innerException)
    {
        Detail = message;
    }

    /// <summary>The kind of error, for programs to switch on.</summary>
    public CedarSchemaErrorCode Code { get; }

    /// <summary>Where in the schema text the error was found. For the JSON format, line and column of a JSON syntax error; 0 for other JSON schema errors, whose <see cref="Detail"/> names the JSON path.</summary>
    public SourcePosition Position { get; }

    /// <summary>The error description without the position.</summary>
    public string Detail { get; }
}
