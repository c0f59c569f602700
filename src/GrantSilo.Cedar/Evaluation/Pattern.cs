namespace GrantSilo.Cedar.Evaluation;

/// <summary>A <c>like</c> pattern: literal characters and <c>*</c> wildcards (a literal star is written <c>\*</c>).</summary>
internal sealed class Pattern
{
    // Each element is a literal char, or null for a wildcard.
    private readonly char?[] _elements;

    public Pattern(IEnumerable<char?> elements) => _elements = [.. elements];

    /// <summary>A text form that is equal for equal patterns (wildcards as U+0001).</summary>
    public string Key => string.Concat(_elements.Select(c => c is null ? "\u0001" : c.Value.ToString()));

    public bool IsMatch(string s) => IsMatch(s, out _);

    /// <summary>
    /// Matches <paramref name="s"/>, saying how many steps it took: about the string's length, but up to its length times
    /// the pattern's when a wildcard has to give back characters again and again (<c>"*aaaa…ab"</c> against
    /// <c>"aaaa…a"</c>). The evaluation budget charges the steps, so a costly match costs the decision what it cost.
    /// </summary>
    public bool IsMatch(string s, out long steps)
    {
        var p = _elements;
        int si = 0, pi = 0, starPi = -1, starSi = 0;
        steps = 0;
        while (si < s.Length)
        {
            steps++;
            if (pi < p.Length && p[pi] is { } c && c == s[si])
            {
                si++;
                pi++;
            }
            else if (pi < p.Length && p[pi] is null)
            {
                starPi = pi++;
                starSi = si;
            }
            else if (starPi >= 0)
            {
                pi = starPi + 1;
                si = ++starSi;
            }
            else
            {
                return false;
            }
        }

        while (pi < p.Length && p[pi] is null)
        {
            pi++;
        }

        return pi == p.Length;
    }

    public override string ToString() =>
        new([.. _elements.SelectMany(e => e is null ? "*" : e == '*' ? "\\*" : e.Value.ToString())]);
}
