namespace GrantSilo.Policy.Schema;

/// <summary>Which names a schema may declare or refer to: Cedar identifiers, joined by <c>::</c>, none of them reserved.</summary>
internal static class SchemaNames
{
    private static readonly HashSet<string> Reserved = new(StringComparer.Ordinal) { "true", "false", "if", "then", "else", "in", "is", "like", "has" };

    public static bool IsReserved(string identifier) => Reserved.Contains(identifier);

    public static bool IsIdentifier(string s) =>
        s.Length > 0 && (char.IsAsciiLetter(s[0]) || s[0] == '_') && s.All(c => char.IsAsciiLetterOrDigit(c) || c == '_') && !Reserved.Contains(s);

    public static bool IsPath(string s) => s.Split("::").All(IsIdentifier);
}
