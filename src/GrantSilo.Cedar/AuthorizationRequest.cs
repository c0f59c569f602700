using GrantSilo.Cedar.Values;

namespace GrantSilo.Cedar;

/// <summary>An authorization request: who (principal) wants to do what (action) to what (resource), in which context.</summary>
public sealed class AuthorizationRequest
{
    /// <summary>Creates a request.</summary>
    /// <param name="principal">The principal entity.</param>
    /// <param name="action">The action entity, for example <c>Action::"read"</c>.</param>
    /// <param name="resource">The resource entity.</param>
    /// <param name="context">A record value (see <see cref="CedarValue.Record(IEnumerable{KeyValuePair{string, CedarValue}})"/>), or null for an empty context.</param>
    /// <exception cref="ArgumentException"><paramref name="context"/> is not a record.</exception>
    public AuthorizationRequest(EntityUid principal, EntityUid action, EntityUid resource, CedarValue? context = null)
    {
        ArgumentNullException.ThrowIfNull(principal);
        ArgumentNullException.ThrowIfNull(action);
        ArgumentNullException.ThrowIfNull(resource);
        Principal = principal;
        Action = action;
        Resource = resource;
        ContextRecord = context switch
        {
            null => RecordValue.Empty,
            RecordValue r => r,
            _ => throw new ArgumentException("The context must be a record value.", nameof(context)),
        };
    }

    /// <summary>The principal.</summary>
    public EntityUid Principal { get; }

    /// <summary>The action.</summary>
    public EntityUid Action { get; }

    /// <summary>The resource.</summary>
    public EntityUid Resource { get; }

    /// <summary>The context record.</summary>
    public CedarValue Context => ContextRecord;

    internal RecordValue ContextRecord { get; }
}
