namespace GrantSilo.Grains.Decisions;

/// <summary>
/// Validates the attributes and groups that become Cedar entity data, so every name is a plain
/// Cedar identifier, every value canonical text, and counts are bounded.
/// </summary>
internal static class AttributeRules
{
    public const int MaxNameLength = 64;

    private static readonly string[] ResourceReserved = ["type", "path", "classification", "classificationLevel"];
    private static readonly string[] AgentReserved = ["owner", "workloadId"];

    public static GrantResult<IReadOnlyDictionary<string, string>?> ValidateResource(IReadOnlyDictionary<string, string>? attributes) =>
        Validate(attributes, ResourceRef.MaxAttributes, ResourceRef.MaxAttributeValueLength, ResourceReserved, "Resource attribute");

    public static GrantResult<IReadOnlyDictionary<string, string>?> ValidateAgent(IReadOnlyDictionary<string, string>? attributes) =>
        Validate(attributes, AgentRegistration.MaxAttributes, 256, AgentReserved, "Agent attribute");

    public static GrantResult<IReadOnlyList<string>> ValidateGroups(IReadOnlyList<string>? groups)
    {
        if (groups is null || groups.Count == 0)
        {
            return GrantResult<IReadOnlyList<string>>.Ok([]);
        }
        if (groups.Count > AgentRegistration.MaxGroups)
        {
            return GrantResult<IReadOnlyList<string>>.Fail(GrantErrorCode.InvalidArgument, $"An agent may belong to at most {AgentRegistration.MaxGroups} groups; {groups.Count} were given.");
        }
        foreach (var group in groups)
        {
            if (!Permission.IsName(group, allowWildcard: false))
            {
                return GrantResult<IReadOnlyList<string>>.Fail(GrantErrorCode.InvalidArgument, $"Group name '{Untrusted.Id(group)}' must be 1-{Permission.MaxNameLength} characters of a-z, 0-9, '.', '-' or '_', starting with a letter or digit.");
            }
        }
        return GrantResult<IReadOnlyList<string>>.Ok([.. groups.Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal)]);
    }

    private static GrantResult<IReadOnlyDictionary<string, string>?> Validate(IReadOnlyDictionary<string, string>? attributes, int maxCount, int maxValueLength, string[] reserved, string field)
    {
        if (attributes is null || attributes.Count == 0)
        {
            return GrantResult<IReadOnlyDictionary<string, string>?>.Ok(null);
        }
        if (attributes.Count > maxCount)
        {
            return GrantResult<IReadOnlyDictionary<string, string>?>.Fail(GrantErrorCode.InvalidArgument, $"At most {maxCount} {field.ToLowerInvariant()}s are allowed; {attributes.Count} were given.");
        }
        var canonical = new List<KeyValuePair<string, string>>(attributes.Count);
        foreach (var (name, value) in attributes)
        {
            if (!IsName(name))
            {
                return GrantResult<IReadOnlyDictionary<string, string>?>.Fail(GrantErrorCode.InvalidArgument, $"{field} name '{Untrusted.Id(name)}' must start with a-z and continue with letters, digits or '_' (at most {MaxNameLength} characters).");
            }
            if (reserved.Contains(name, StringComparer.Ordinal))
            {
                return GrantResult<IReadOnlyDictionary<string, string>?>.Fail(GrantErrorCode.InvalidArgument, $"{field} name '{Untrusted.Id(name)}' is reserved for GrantSilo's own facts.");
            }
            if (!Canonical.TryCanonicalize(value, maxValueLength, out var text, out var problem))
            {
                return GrantResult<IReadOnlyDictionary<string, string>?>.Fail(GrantErrorCode.InvalidArgument, $"{field} '{Untrusted.Id(name)}' {problem}.");
            }
            canonical.Add(new(name, text));
        }
        canonical.Sort((a, b) => string.CompareOrdinal(a.Key, b.Key));
        return GrantResult<IReadOnlyDictionary<string, string>?>.Ok(new Dictionary<string, string>(canonical, StringComparer.Ordinal));
    }

    private static bool IsName(string? name)
    {
        if (string.IsNullOrEmpty(name) || name.Length > MaxNameLength || name[0] is < 'a' or > 'z')
        {
            return false;
        }
        foreach (var c in name)
        {
            if (c is not ((>= 'a' and <= 'z') or (>= 'A' and <= 'Z') or (>= '0' and <= '9') or '_'))
            {
                return false;
            }
        }
        return true;
    }
}
