using GrantSilo.Persistence.AzureTables.Internal;

namespace GrantSilo.Persistence.AzureTables.Tests.Unit;

public sealed class TableKeysTests
{
    private static readonly char[] Forbidden = ['/', '\\', '#', '?'];

    private static IEnumerable<string> RandomStrings(int count, int maxLength, int seed)
    {
        var random = new Random(seed);
        for (var i = 0; i < count; i++)
        {
            var chars = new char[random.Next(0, maxLength)];
            for (var j = 0; j < chars.Length; j++)
            {
                chars[j] = random.Next(4) switch
                {
                    0 => (char)random.Next(0, 0x20),
                    1 => "/\\#?%|~"[random.Next(7)],
                    2 => (char)random.Next(0xD800, 0xE000),
                    _ => (char)random.Next(0x20, 0xFFFF),
                };
            }

            yield return new string(chars);
        }
    }

    [Fact]
    public void Escape_NeverLeavesForbiddenCharactersOrLoneSurrogates()
    {
        foreach (var value in RandomStrings(2000, 40, 1))
        {
            var escaped = TableKeys.Escape(value);

            Assert.DoesNotContain(escaped, c => Forbidden.Contains(c) || char.IsControl(c));
            for (var i = 0; i < escaped.Length; i++)
            {
                if (char.IsHighSurrogate(escaped[i]))
                {
                    Assert.True(i + 1 < escaped.Length && char.IsLowSurrogate(escaped[i + 1]), $"lone high surrogate in escape of {value}");
                    i++;
                }
                else
                {
                    Assert.False(char.IsLowSurrogate(escaped[i]), "lone low surrogate");
                }
            }
        }
    }

    [Fact]
    public void Escape_ThenUnescape_ReturnsTheOriginal()
    {
        foreach (var value in RandomStrings(2000, 40, 2))
        {
            Assert.Equal(value, TableKeys.Unescape(TableKeys.Escape(value)));
        }
    }

    [Fact]
    public void Compose_DistinctComponents_GiveDistinctKeys()
    {
        var pairs = new[] { ("a|b", "c"), ("a", "b|c"), ("a%7Cb", "c"), ("a", "b%7Cc"), ("a/b", "c"), ("a", "b/c") };

        var keys = pairs.Select(p => TableKeys.Compose(p.Item1, p.Item2)).ToList();

        Assert.Equal(keys.Count, keys.Distinct(StringComparer.Ordinal).Count());
    }

    [Fact]
    public void Compose_VeryLongKeys_AreShortenedWithinLimitAndStayDistinct()
    {
        var common = string.Concat(Enumerable.Repeat("🔑", 2000));

        var first = TableKeys.Compose(common + "1");
        var second = TableKeys.Compose(common + "2");

        Assert.Equal(TableKeys.MaxKeyLength, first.Length);
        Assert.True(TableKeys.IsShortened(first));
        Assert.NotEqual(first, second);
        Assert.False(char.IsHighSurrogate(first[^66]), "the kept prefix must not end inside a surrogate pair");
    }

    [Fact]
    public void Compose_ShortKeys_AreNotShortened()
    {
        var key = TableKeys.Compose("service", "grain-type");

        Assert.Equal("service|grain-type", key);
        Assert.False(TableKeys.IsShortened(key));
    }
}
