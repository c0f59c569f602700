namespace GrantSilo.Abstractions.Tests;

public class FreeTextTests
{
    [Theory]
    [InlineData("a\u202Eb")]
    [InlineData("a\nb")]
    [InlineData("a\u0007b")]
    [InlineData("a\u2066b")]
    [InlineData("a\u2028b")]
    public void Text_RefusesWhatReasonsRefuse_NamingTheField(string text)
    {
        var result = Canonical.Text(text, "purpose", 100);
        Assert.Equal(GrantErrorCode.InvalidArgument, result.Error?.Code);
        Assert.StartsWith("The purpose contains a forbidden character", result.Error!.Message, StringComparison.Ordinal);
        Assert.Equal(GrantErrorCode.InvalidArgument, Canonical.Reason(text, "revoked").Error?.Code);
    }

    [Fact]
    public void Text_TrimsNormalizesAndCaps()
    {
        Assert.Null(Canonical.Text("   ", "purpose", 10).Value);
        Assert.Null(Canonical.Text(null, "purpose", 10).Value);
        Assert.Equal("caf\u00e9", Canonical.Text(" cafe\u0301 ", "purpose", 10).Value);
        Assert.Equal("The purpose is longer than 3 characters.", Canonical.Text("abcd", "purpose", 3).Error?.Message);
        Assert.Equal("revoked", Canonical.Reason("  ", "revoked").Value);
    }
}
