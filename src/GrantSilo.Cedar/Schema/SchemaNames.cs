namespace GrantSilo.Cedar.Schema;

/// <summary>Which names a schema may declare or refer to: Cedar identifiers, joined by <c>::</c>, none of them reserved.</summary>
internal static class SchemaNames
{
    private static readonly HashSet<string> Reserved = new(StringComparer.Ordinal) { "true", "false", "if", "then", "else", "in", "is", "like", "has" };

    public static bool IsReserved(string identifier) => Reserved.Contains(identifier);

    private static readonly HashSet<string>.AlternateLookup<ReadOnlySpan<char>> ReservedSpans = Reserved.GetAlternateLookup<ReadOnlySpan<char>>();

    public static bool IsIdentifier(string s) => IsIdentifier(s.AsSpan());

    public static bool IsPath(string s)
    {
        var rest = s.AsSpan();
        while (true)
        {
            var sep = rest.IndexOf("::", StringComparison.Ordinal);
            if (!IsIdentifier(sep < 0 ? rest : rest[..sep]))
            {
                return false;
            }

            if (sep < 0)
            {
                return true;
            }

            rest = rest[(sep + 2)..];
        }
    }

    private static bool IsIdentifier(ReadOnlySpan<char> s)
    {
        if (s.Length == 0 || !(char.IsAsciiLetter(s[0]) || s[0] == '_'))
        {
            return false;
        }

        foreach (var c in s)
        {
            if (!char.IsAsciiLetterOrDigit(c) && c != '_')
            {
                return false;
            }
        }

        return !ReservedSpans.Contains(s);
    }
}
