namespace GrantSilo;

/// <summary>
/// One permission: an action on resources of one type whose path matches a pattern. Written as
/// <c>type:action:pattern</c>, for example <c>repo:read:acme/payments/*</c>; the action <c>*</c>
/// stands for every action on that resource type.
/// </summary>
[GenerateSerializer, Immutable, Alias("grantsilo.permission")]
public sealed record Permission
{
    /// <summary>The longest resource type or action name accepted.</summary>
    public const int MaxNameLength = 64;

    private Permission(string resourceType, string action, ResourcePattern pattern)
    {
        ResourceType = resourceType;
        Action = action;
        Pattern = pattern;
    }

    /// <summary>The resource type, a lower-case name such as <c>repo</c>.</summary>
    [Id(0)] public string ResourceType { get; init; }

    /// <summary>The action, a lower-case name such as <c>read</c>, or <c>*</c>.</summary>
    [Id(1)] public string Action { get; init; }

    /// <summary>The resource paths the permission covers.</summary>
    [Id(2)] public ResourcePattern Pattern { get; init; }

    /// <summary>Creates a permission from its parts, validating each.</summary>
    public static GrantResult<Permission> Create(string? resourceType, string? action, string? pattern)
    {
        if (!IsName(resourceType, allowWildcard: false))
        {
            return Invalid($"{resourceType}:{action}:{pattern}", $"Resource type '{Untrusted.Id(resourceType)}' must be 1-{MaxNameLength} characters of a-z, 0-9, '.', '-' or '_', starting with a letter or digit.");
        }
        if (!IsName(action, allowWildcard: true))
        {
            return Invalid($"{resourceType}:{action}:{pattern}", $"Action '{Untrusted.Id(action)}' must be '*' or 1-{MaxNameLength} characters of a-z, 0-9, '.', '-' or '_', starting with a letter or digit.");
        }
        var parsed = ResourcePattern.Parse(pattern);
        if (!parsed.IsSuccess)
        {
            var text = $"{resourceType}:{action}:{pattern}";
            return parsed.Error with { Permission = Untrusted.ContainsToken(text) ? Untrusted.Id(text) : text };
        }
        return GrantResult<Permission>.Ok(new Permission(resourceType!, action!, parsed.Value));
    }

    /// <summary>Parses <c>type:action:pattern</c>.</summary>
    public static GrantResult<Permission> Parse(string? text)
    {
        if (string.IsNullOrEmpty(text))
        {
            return Invalid(text, "A permission is empty; write it as type:action:pattern.");
        }
        var first = text.IndexOf(':', StringComparison.Ordinal);
        var second = first < 0 ? -1 : text.IndexOf(':', first + 1);
        if (first < 0 || second < 0)
        {
            return Invalid(text, $"Permission '{Shorten(text)}' must be written as type:action:pattern.");
        }
        return Create(text[..first], text[(first + 1)..second], text[(second + 1)..]);
    }

    /// <summary>True when everything this permission allows is allowed by <paramref name="other"/>.</summary>
    public bool IsWithin(Permission other) =>
        string.Equals(ResourceType, other.ResourceType, StringComparison.Ordinal)
        && (other.Action == "*" || string.Equals(Action, other.Action, StringComparison.Ordinal))
        && Pattern.IsWithin(other.Pattern);

    /// <summary>True when this permission allows <paramref name="action"/> on the resource at <paramref name="path"/>.</summary>
    public bool Covers(string resourceType, string action, string path) =>
        string.Equals(ResourceType, resourceType, StringComparison.Ordinal)
        && (Action == "*" || string.Equals(Action, action, StringComparison.Ordinal))
        && Pattern.Matches(path);

    /// <summary>The largest permission within both, or null when they share nothing.</summary>
    public Permission? Intersect(Permission other)
    {
        if (!string.Equals(ResourceType, other.ResourceType, StringComparison.Ordinal))
        {
            return null;
        }
        string action;
        if (Action == "*")
        {
            action = other.Action;
        }
        else if (other.Action == "*" || string.Equals(Action, other.Action, StringComparison.Ordinal))
        {
            action = Action;
        }
        else
        {
            return null;
        }
        var pattern = Pattern.Intersect(other.Pattern);
        return pattern is null ? null : new Permission(ResourceType, action, pattern);
    }

    /// <summary>True when <paramref name="name"/> is a valid resource type or action name (or <c>*</c> when allowed).</summary>
    public static bool IsName([System.Diagnostics.CodeAnalysis.NotNullWhen(true)] string? name, bool allowWildcard)
    {
        if (string.IsNullOrEmpty(name) || name.Length > MaxNameLength)
        {
            return false;
        }
        if (allowWildcard && name == "*")
        {
            return true;
        }
        for (var i = 0; i < name.Length; i++)
        {
            var c = name[i];
            var ok = c is (>= 'a' and <= 'z') or (>= '0' and <= '9') || (i > 0 && c is '.' or '-' or '_');
            if (!ok)
            {
                return false;
            }
        }
        return true;
    }

    // What an error may show of submitted text: never a token's secret (see Untrusted), never more than 80 characters.
    private static string Shorten(string text) =>
        Untrusted.ContainsToken(text) ? Untrusted.Id(text) : text.Length <= 80 ? text : text[..80] + "…";

    private static GrantResult<Permission> Invalid(string? text, string message) =>
        GrantResult<Permission>.Fail(GrantErrorCode.InvalidScope, message, permission: text is null ? null : Shorten(text));

    /// <summary>The canonical order of permissions in a scope: type, action, pattern (ordinal).</summary>
    public static int Compare(Permission a, Permission b)
    {
        var c = string.CompareOrdinal(a.ResourceType, b.ResourceType);
        if (c != 0)
        {
            return c;
        }
        c = string.CompareOrdinal(a.Action, b.Action);
        return c != 0 ? c : string.CompareOrdinal(a.Pattern.Text, b.Pattern.Text);
    }

    /// <inheritdoc />
    public bool Equals(Permission? other) =>
        other is not null
        && string.Equals(ResourceType, other.ResourceType, StringComparison.Ordinal)
        && string.Equals(Action, other.Action, StringComparison.Ordinal)
        && Pattern.Equals(other.Pattern);

    /// <inheritdoc />
    public override int GetHashCode() => HashCode.Combine(ResourceType, Action, Pattern);

    /// <inheritdoc />
    public override string ToString() => $"{ResourceType}:{Action}:{Pattern.Text}";
}
