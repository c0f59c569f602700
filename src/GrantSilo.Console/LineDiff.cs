namespace GrantSilo.WebConsole;

/// <summary>A line diff of two texts (longest common subsequence), for comparing policy versions.</summary>
public static class LineDiff
{
    /// <summary>The most lines either side a diff is computed for (it costs their product).</summary>
    public const int MaxLines = 4000;

    /// <summary>How a line changed.</summary>
    public enum Change
    {
        Same,
        Removed,
        Added,
    }

    /// <summary>One line of the diff, with its line numbers in the old and new text.</summary>
    public readonly record struct Line(Change Change, string Text, int? Old, int? New);

    /// <summary>The diff from <paramref name="before"/> to <paramref name="after"/>, or null when either is longer than <see cref="MaxLines"/>.</summary>
    public static IReadOnlyList<Line>? Compute(string before, string after)
    {
        var a = Split(before);
        var b = Split(after);
        if (a.Length > MaxLines || b.Length > MaxLines)
        {
            return null;
        }
        // lengths[i, j]: the longest common subsequence of a[i..] and b[j..].
        var lengths = new int[a.Length + 1, b.Length + 1];
        for (var i = a.Length - 1; i >= 0; i--)
        {
            for (var j = b.Length - 1; j >= 0; j--)
            {
                lengths[i, j] = a[i] == b[j] ? lengths[i + 1, j + 1] + 1 : Math.Max(lengths[i + 1, j], lengths[i, j + 1]);
            }
        }
        var lines = new List<Line>(a.Length + b.Length);
        int x = 0, y = 0;
        while (x < a.Length || y < b.Length)
        {
            if (x < a.Length && y < b.Length && a[x] == b[y])
            {
                lines.Add(new Line(Change.Same, a[x], x + 1, y + 1));
                x++;
                y++;
            }
            else if (y < b.Length && (x == a.Length || lengths[x, y + 1] >= lengths[x + 1, y]))
            {
                lines.Add(new Line(Change.Added, b[y], null, y + 1));
                y++;
            }
            else
            {
                lines.Add(new Line(Change.Removed, a[x], x + 1, null));
                x++;
            }
        }
        return lines;
    }

    private static string[] Split(string text) => text.Replace("\r\n", "\n", StringComparison.Ordinal).Split('\n');
}
