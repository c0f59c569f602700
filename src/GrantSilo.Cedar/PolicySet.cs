using System.Globalization;
using GrantSilo.Cedar.Parsing;

namespace GrantSilo.Cedar;

/// <summary>How policy ids are assigned when parsing a policy set.</summary>
public enum PolicyIdSource
{
    /// <summary><c>policy0</c>, <c>policy1</c>, ... in source order (Cedar's default).</summary>
    Positional,
    /// <summary>The <c>@id("...")</c> annotation when present, otherwise positional. Duplicate ids are a parse error.</summary>
    IdAnnotation,
}

/// <summary>
/// A parsed and compiled set of Cedar policies. Parse once (for example per policy version) and reuse it:
/// it is immutable and safe to use from many threads.
/// </summary>
public sealed class PolicySet
{
    private readonly Dictionary<string, Policy> _byId;

    private PolicySet(List<Policy> policies)
    {
        Policies = [.. policies.Where(p => !p.IsTemplate)];
        Templates = [.. policies.Where(p => p.IsTemplate)];
        _byId = new Dictionary<string, Policy>(StringComparer.Ordinal);
        foreach (var p in policies)
        {
            _byId[p.Id] = p;
        }
    }

    /// <summary>The policies that are evaluated: static policies in source order, then template-linked policies in link order.</summary>
    public IReadOnlyList<Policy> Policies { get; }

    /// <summary>Templates (policies with <c>?principal</c>/<c>?resource</c> slots), in source order. They apply only once linked.</summary>
    public IReadOnlyList<Policy> Templates { get; }

    /// <summary>
    /// Parses policy text that may contain templates: policies whose principal or resource scope uses the
    /// <c>?principal</c> / <c>?resource</c> slot (<c>principal == ?principal</c>, <c>resource in ?resource</c>,
    /// <c>principal is T in ?principal</c>). Templates are numbered with the static policies, in source order.
    /// </summary>
    /// <exception cref="CedarParseException">The text is not valid Cedar; the exception carries an error code and position.</exception>
    public static PolicySet ParseWithTemplates(string text, PolicyIdSource idSource = PolicyIdSource.Positional)
    {
        ArgumentNullException.ThrowIfNull(text);
        return Create(Parser.ParsePolicies(text, allowTemplates: true), idSource);
    }

    /// <summary>
    /// Links a template: a new policy set with one more policy, <paramref name="linkId"/>, whose slots hold the given
    /// entities. This set is unchanged.
    /// </summary>
    /// <param name="templateId">The template's id.</param>
    /// <param name="linkId">The new policy's id; it must not be used by any policy or template of the set.</param>
    /// <param name="principal">The value of <c>?principal</c>; required exactly when the template has that slot.</param>
    /// <param name="resource">The value of <c>?resource</c>; required exactly when the template has that slot.</param>
    /// <exception cref="PolicyLinkException">The template does not exist, the id is taken, or the slot values do not match the slots.</exception>
    public PolicySet Link(string templateId, string linkId, EntityUid? principal = null, EntityUid? resource = null)
    {
        ArgumentNullException.ThrowIfNull(templateId);
        ArgumentNullException.ThrowIfNull(linkId);
        if (!_byId.TryGetValue(templateId, out var template) || !template.IsTemplate)
        {
            throw new PolicyLinkException(PolicyLinkErrorCode.UnknownTemplate, $"there is no template `{templateId}`");
        }

        if (_byId.ContainsKey(linkId))
        {
            throw new PolicyLinkException(PolicyLinkErrorCode.DuplicateId, $"policy id `{linkId}` is already used");
        }

        CheckSlot(template.HasPrincipalSlot, principal, "?principal", templateId);
        CheckSlot(template.HasResourceSlot, resource, "?resource", templateId);
        return new PolicySet([.. Policies, .. Templates, template.Link(linkId, principal, resource)]);
    }

    private static void CheckSlot(bool hasSlot, EntityUid? value, string slot, string templateId)
    {
        if (hasSlot && value is null)
        {
            throw new PolicyLinkException(PolicyLinkErrorCode.MissingSlotValue, $"template `{templateId}` needs a value for {slot}");
        }

        if (!hasSlot && value is not null)
        {
            throw new PolicyLinkException(PolicyLinkErrorCode.UnexpectedSlotValue, $"template `{templateId}` has no {slot} slot");
        }
    }

    /// <summary>Parses and compiles Cedar policy text.</summary>
    /// <param name="text">Zero or more Cedar policies.</param>
    /// <param name="idSource">How policy ids are assigned.</param>
    /// <exception cref="CedarParseException">The text is not valid Cedar; the exception carries an error code and position.</exception>
    public static PolicySet Parse(string text, PolicyIdSource idSource = PolicyIdSource.Positional)
    {
        ArgumentNullException.ThrowIfNull(text);
        return Create(Parser.ParsePolicies(text), idSource);
    }

    private static PolicySet Create(List<Policy> policies, PolicyIdSource idSource)
    {
        if (idSource == PolicyIdSource.IdAnnotation)
        {
            var seen = new HashSet<string>(StringComparer.Ordinal);
            for (var i = 0; i < policies.Count; i++)
            {
                var p = policies[i];
                p.Id = p.IdAnnotation ?? "policy" + i.ToString(CultureInfo.InvariantCulture);
                if (!seen.Add(p.Id))
                {
                    throw new CedarParseException(CedarParseErrorCode.DuplicatePolicyId, p.Position, $"duplicate policy id `{p.Id}`");
                }
            }
        }

        return new PolicySet(policies);
    }

    /// <summary>Parses Cedar policy text without throwing.</summary>
    /// <returns>True on success; otherwise <paramref name="error"/> says what and where.</returns>
    public static bool TryParse(string text, out PolicySet? policySet, out CedarParseException? error, PolicyIdSource idSource = PolicyIdSource.Positional)
    {
        try
        {
            policySet = Parse(text, idSource);
            error = null;
            return true;
        }
        catch (CedarParseException e)
        {
            policySet = null;
            error = e;
            return false;
        }
    }

    /// <summary>Finds a policy by id.</summary>
    public bool TryGetPolicy(string id, out Policy policy) => _byId.TryGetValue(id, out policy!);
}

/// <summary>Why a template could not be linked.</summary>
public enum PolicyLinkErrorCode
{
    /// <summary>No template has the given id.</summary>
    UnknownTemplate,
    /// <summary>The link id is already the id of a policy or template.</summary>
    DuplicateId,
    /// <summary>The template has a slot that was given no value.</summary>
    MissingSlotValue,
    /// <summary>A value was given for a slot the template does not have.</summary>
    UnexpectedSlotValue,
}

/// <summary>A template could not be linked. <see cref="Code"/> says why.</summary>
public sealed class PolicyLinkException : Exception
{
    /// <summary>Creates the exception.</summary>
    public PolicyLinkException(PolicyLinkErrorCode code, string message)
        : base(message) => Code = code;

    /// <summary>Creates the exception with a generic message.</summary>
    public PolicyLinkException()
        : this(PolicyLinkErrorCode.UnknownTemplate, "link error")
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    public PolicyLinkException(string message)
        : this(PolicyLinkErrorCode.UnknownTemplate, message)
    {
    }

    /// <summary>Creates the exception with a message and inner exception.</summary>
    public PolicyLinkException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>The kind of error, for programs to switch on.</summary>
    public PolicyLinkErrorCode Code { get; }
}
