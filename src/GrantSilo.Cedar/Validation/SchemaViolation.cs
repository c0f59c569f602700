namespace GrantSilo.Cedar;

/// <summary>Why a request, entity or value does not conform to a schema.</summary>
public enum SchemaViolationCode
{
    /// <summary>The action is not declared.</summary>
    UndeclaredAction,
    /// <summary>An entity type that the schema does not declare.</summary>
    UndeclaredEntityType,
    /// <summary>The action's <c>appliesTo</c> does not allow the principal's type.</summary>
    PrincipalTypeNotAllowed,
    /// <summary>The action's <c>appliesTo</c> does not allow the resource's type.</summary>
    ResourceTypeNotAllowed,
    /// <summary>An entity of an enumerated type with an id that is not one of its choices.</summary>
    InvalidEnumId,
    /// <summary>A required attribute is missing.</summary>
    MissingAttribute,
    /// <summary>An attribute the schema does not declare.</summary>
    UnexpectedAttribute,
    /// <summary>A value of the wrong type.</summary>
    TypeMismatch,
    /// <summary>A parent whose type the entity's type may not be a member of.</summary>
    UnexpectedParentType,
    /// <summary>Tags on an entity whose type declares none.</summary>
    TagsNotAllowed,
    /// <summary>An action entity whose groups differ from the schema's.</summary>
    ActionMismatch,
}

/// <summary>One way a request, entity or value does not conform to a schema.</summary>
/// <param name="Code">The kind of violation.</param>
/// <param name="Path">Where: <c>principal</c>, <c>context.depth</c>, <c>User::"alice".attrs.age</c>, ...</param>
/// <param name="Message">What is wrong, in words a caller can act on.</param>
public sealed record SchemaViolation(SchemaViolationCode Code, string Path, string Message)
{
    /// <inheritdoc />
    public override string ToString() => $"{Path}: {Message}";
}
