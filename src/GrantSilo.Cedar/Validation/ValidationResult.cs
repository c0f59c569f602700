namespace GrantSilo.Cedar;

/// <summary>The kinds of validation error, as Cedar's strict validator reports them.</summary>
public enum ValidationErrorCode
{
    /// <summary>An entity type the schema does not declare.</summary>
    UnrecognizedEntityType,
    /// <summary>An action the schema does not declare.</summary>
    UnrecognizedActionId,
    /// <summary>
    /// No action in the policy's scope applies to the principal and resource types its scope allows. Only reported as an
    /// error with <see cref="PolicyValidatorOptions.InapplicableActionIsError"/>; otherwise it is the warning
    /// <see cref="ValidationWarningCode.InvalidActionApplication"/>, as in Cedar 4.13.
    /// </summary>
    InvalidActionApplication,
    /// <summary>An operand of the wrong type (for example a string where a number is needed).</summary>
    UnexpectedType,
    /// <summary>Operands that must have compatible types do not (for example a string compared with a number).</summary>
    IncompatibleTypes,
    /// <summary>An attribute that the entity or record type does not declare.</summary>
    UnsafeAttributeAccess,
    /// <summary>An optional attribute read without first checking it with <c>has</c>.</summary>
    UnsafeOptionalAttributeAccess,
    /// <summary>A tag read without first checking it with <c>hasTag</c>.</summary>
    UnsafeTagAccess,
    /// <summary>A tag read on an entity type whose schema declares no tags.</summary>
    NoTagsAllowed,
    /// <summary>A function Cedar does not know.</summary>
    UndefinedFunction,
    /// <summary>A function called with the wrong number of arguments.</summary>
    WrongNumberArguments,
    /// <summary>An extension constructor called with an invalid literal (<c>ip("bad")</c>).</summary>
    FunctionArgumentValidation,
    /// <summary>An extension constructor called with a non-literal argument.</summary>
    NonLiteralExtensionConstructor,
    /// <summary>An empty set literal <c>[]</c>, whose element type cannot be known.</summary>
    EmptySetForbidden,
    /// <summary>An entity of an enumerated type with an id that is not one of its choices.</summary>
    InvalidEnumEntity,
    /// <summary>An expression too deeply nested to check.</summary>
    ExpressionTooDeep,
    /// <summary>A template-linked policy whose slot values do not fit the schema.</summary>
    InvalidLink,
}

/// <summary>The kinds of validation warning.</summary>
public enum ValidationWarningCode
{
    /// <summary>The policy can never apply: it evaluates to false (or is not type-correct) for every request the schema allows.</summary>
    ImpossiblePolicy,
    /// <summary>No action in the policy's scope applies to the principal and resource types its scope allows (a warning in Cedar 4.13).</summary>
    InvalidActionApplication,
}

/// <summary>A policy that does not type-check against the schema: which policy, where, and what to change.</summary>
/// <param name="PolicyId">The policy's id.</param>
/// <param name="Code">The kind of error.</param>
/// <param name="Position">Where in the policy text (offset, line and column of the whole policy set text).</param>
/// <param name="Message">A message a policy author can act on.</param>
public sealed record ValidationError(string PolicyId, ValidationErrorCode Code, SourcePosition Position, string Message)
{
    /// <inheritdoc />
    public override string ToString() => $"{PolicyId} ({Position}): {Message}";
}

/// <summary>A finding that does not make the policy invalid.</summary>
/// <param name="PolicyId">The policy's id.</param>
/// <param name="Code">The kind of warning.</param>
/// <param name="Position">Where in the policy text.</param>
/// <param name="Message">What was found.</param>
public sealed record ValidationWarning(string PolicyId, ValidationWarningCode Code, SourcePosition Position, string Message)
{
    /// <inheritdoc />
    public override string ToString() => $"{PolicyId} ({Position}): {Message}";
}

/// <summary>The outcome of validating a policy set: errors (the set is invalid when there are any) and warnings.</summary>
public sealed class ValidationResult(IReadOnlyList<ValidationError> errors, IReadOnlyList<ValidationWarning> warnings)
{
    /// <summary>Every error, in policy order.</summary>
    public IReadOnlyList<ValidationError> Errors { get; } = errors;

    /// <summary>Every warning, in policy order.</summary>
    public IReadOnlyList<ValidationWarning> Warnings { get; } = warnings;

    /// <summary>True when there are no errors.</summary>
    public bool IsValid => Errors.Count == 0;
}

/// <summary>Choices that differ between Cedar versions or deployments.</summary>
public sealed record PolicyValidatorOptions
{
    /// <summary>The defaults: Cedar 4.13's strict validation.</summary>
    public static PolicyValidatorOptions Default { get; } = new();

    /// <summary>
    /// Report a scope that no action applies to as the error <see cref="ValidationErrorCode.InvalidActionApplication"/>
    /// instead of a warning. Earlier Cedar versions (and the integration corpus generated with them) treat it as an
    /// error; a publisher may also want to refuse policies that can never apply.
    /// </summary>
    public bool InapplicableActionIsError { get; init; }
}
