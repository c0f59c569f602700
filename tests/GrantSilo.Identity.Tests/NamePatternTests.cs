namespace GrantSilo.Identity.Tests;

public sealed class NamePatternTests
{
    private static NamePattern Parse(string text) => NamePattern.TryParse(text, out var problem) ?? throw new ArgumentException(problem);

    [Theory]
    [InlineData("person:*@acme.dev", "person:alice@acme.dev", true)]
    [InlineData("person:*@acme.dev", "person:@acme.dev", true)]
    [InlineData("person:*@acme.dev", "person:alice@acme.dev.evil", false)]
    [InlineData("person:*@acme.dev", "person:alice@ACME.dev", false)]
    [InlineData("person:*@acme.dev", "service:alice@acme.dev", false)]
    [InlineData("person:ab*ba", "person:aba", false)]
    [InlineData("person:ab*ba", "person:abba", true)]
    [InlineData("service:ci", "service:ci", true)]
    [InlineData("service:ci", "service:ci2", false)]
    public void Matches_PrefixThenAnythingThenSuffix_Ordinally(string pattern, string name, bool expected)
        => Assert.Equal(expected, Parse(pattern).Matches(name));

    // Every pattern over a two-letter alphabet, at most three letters around at most one '*', against every pair:
    // Shared finds a name exactly when some name of at most six letters (longer prefix plus longer suffix) is in both.
    [Fact]
    public void Shared_FindsANameInBoth_ExactlyWhenOneExists()
    {
        var words = Words(3).ToList();
        var patterns = words.Where(w => w.Length > 0).Concat(
            from p in words from s in words where p.Length + s.Length <= 3 select p + "*" + s).Select(Parse).ToList();
        var names = Words(6).ToList();
        var checkedPairs = 0;
        foreach (var a in patterns)
        {
            foreach (var b in patterns)
            {
                var shared = NamePattern.Shared(a, b);
                var exists = names.Any(n => a.Matches(n) && b.Matches(n));
                Assert.True(exists == shared is not null, $"{a} and {b}: shared {shared ?? "none"}, brute force {exists}");
                if (shared is not null)
                {
                    Assert.True(a.Matches(shared) && b.Matches(shared), $"{shared} is not in both {a} and {b}");
                }

                checkedPairs++;
            }
        }

        Assert.True(checkedPairs > 1000);
    }

    [Theory]
    [InlineData("a**")]
    [InlineData("*a*")]
    [InlineData("")]
    [InlineData("a b*")]
    public void TryParse_RefusesMoreThanOneWildcardOrWhiteSpace(string text)
    {
        Assert.Null(NamePattern.TryParse(text, out var problem));
        Assert.False(string.IsNullOrEmpty(problem));
    }

    private static IEnumerable<string> Words(int maxLength)
    {
        IEnumerable<string> level = [""];
        for (var length = 0; length <= maxLength; length++)
        {
            foreach (var w in level)
            {
                yield return w;
            }

            level = level.SelectMany(w => new[] { w + "a", w + "b" }).ToList();
        }
    }
}
