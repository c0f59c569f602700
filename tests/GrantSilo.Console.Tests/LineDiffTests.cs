namespace GrantSilo.WebConsole.Tests;

/// <summary>The policy diff: a line diff that keeps common lines and marks what was added and removed, in order.</summary>
public sealed class LineDiffTests
{
    [Fact]
    public void Compute_MarksAddedAndRemovedLines_WithTheirNumbers()
    {
        var diff = LineDiff.Compute("a\nb\nc\nd", "a\nc\nd\ne")!;
        Assert.Equal(
            ["  a", "- b", "  c", "  d", "+ e"],
            diff.Select(l => (l.Change switch { LineDiff.Change.Added => "+ ", LineDiff.Change.Removed => "- ", _ => "  " }) + l.Text));
        Assert.Equal((2, (int?)null), (diff[1].Old!.Value, diff[1].New));
        Assert.Equal(((int?)null, 4), (diff[4].Old, diff[4].New!.Value));
    }

    [Fact]
    public void Compute_OfEqualTexts_ChangesNothing_AndCrLfEqualsLf()
    {
        var diff = LineDiff.Compute("permit(principal, action, resource);\r\nforbid(principal, action, resource);", "permit(principal, action, resource);\nforbid(principal, action, resource);")!;
        Assert.All(diff, l => Assert.Equal(LineDiff.Change.Same, l.Change));
        Assert.Equal(2, diff.Count);
    }

    [Fact]
    public void Compute_RefusesTextsLongerThanTheLimit()
    {
        var longText = string.Join('\n', Enumerable.Range(0, LineDiff.MaxLines + 1));
        Assert.Null(LineDiff.Compute(longText, "x"));
    }
}
