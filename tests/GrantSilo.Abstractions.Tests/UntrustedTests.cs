using CsCheck;

namespace GrantSilo.Abstractions.Tests;

public class UntrustedTests
{
    private static (string Token, string Id, string Secret) NewToken()
    {
        var id = CredentialToken.NewCredentialId();
        var token = ShapedTokens.Legacy(id);
        return (token, id, token[(token.LastIndexOf('.') + 1)..]);
    }

    /// <summary>No eight characters in a row of the secret appear in the text.</summary>
    internal static void AssertNoPartOf(string secret, string? text)
    {
        if (text is null)
        {
            return;
        }
        for (var i = 0; i + 8 <= secret.Length; i++)
        {
            Assert.DoesNotContain(secret.Substring(i, 8), text, StringComparison.OrdinalIgnoreCase);
        }
    }

    [Fact]
    public void Id_OfAToken_KeepsOnlyWhatPrecedesItsSecondDot()
    {
        var (token, id, secret) = NewToken();
        Assert.Equal($"gs1.{id}.***", Untrusted.Id(token));
        AssertNoPartOf(secret, Untrusted.Id(token));
        AssertNoPartOf(secret, Untrusted.Id("Bearer " + token + " trailing"));
        AssertNoPartOf(secret, Untrusted.Id(token.ToUpperInvariant()));
        AssertNoPartOf(secret, Untrusted.Id("token=" + token[..^5]));
    }

    [Fact]
    public void Id_OfAJwt_KeepsOnlyItsHeaderAndPayload()
    {
        const string Jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJlLXRoYXQtaXMtc2VjcmV0LWVub3VnaA";
        Assert.Equal("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.***", Untrusted.Id(Jwt));
        Assert.True(Untrusted.ContainsToken("Bearer " + Jwt));
    }

    [Theory]
    [InlineData("t-0123456789abcdef0123456789abcdef")]
    [InlineData("spiffe://acme.dev/agent/planner.v1.2")]
    [InlineData("person:alice.smith@acme.dev")]
    [InlineData("bugs1.fix.v2")]
    [InlineData("heyJude.a.b")]
    [InlineData("caf\u00e9 menu")]
    public void Id_OfOrdinaryIds_IsTheIdItself(string id)
    {
        Assert.Equal(id, Untrusted.Id(id));
        Assert.False(Untrusted.ContainsToken(id));
    }

    [Fact]
    public void Id_ReplacesControlAndInvisibleCharacters()
    {
        Assert.Equal("a\uFFFDb\uFFFD\uFFFDc\uFFFDd\uFFFDe", Untrusted.Id("a\u202Eb\n\u0007c\u200Bd\u3000e"));
        Assert.Equal("x\uFFFDy", Untrusted.Id("x" + (char)0xD800 + "y"));
    }

    [Fact]
    public void Id_CutsLongText()
    {
        var shown = Untrusted.Id(new string('x', 100_000));
        Assert.Equal(Untrusted.MaxLength + 1, shown.Length);
        Assert.EndsWith("…", shown, StringComparison.Ordinal);
    }

    [Fact]
    public void Id_NeverShowsTheSecret_WhateverSurroundsTheToken()
    {
        var (token, _, secret) = NewToken();
        Gen.Select(Gen.String[Gen.Char.AlphaNumeric, 0, 40], Gen.OneOf(Gen.Const(" "), Gen.Const("/"), Gen.Const(":"), Gen.Const("'"), Gen.Const("")), Gen.String[0, 40])
            .Sample((before, separator, after) =>
            {
                var text = (separator.Length == 0 ? "" : before + separator) + token + after;
                var shown = Untrusted.Id(text);
                AssertNoPartOf(secret, shown);
                Assert.True(shown.Length <= Untrusted.MaxLength + 1 + Untrusted.Redacted.Length);
            });
    }

    [Theory]
    [InlineData("{0}")]
    [InlineData("{0}:read:a")]
    [InlineData("doc:{0}:a")]
    [InlineData("doc:read:a/{0}/../b")]
    public void ScopeErrors_NeverRepeatATokenWrittenIntoAPermission(string shape)
    {
        var (token, _, secret) = NewToken();
        var result = Scope.Create([string.Format(System.Globalization.CultureInfo.InvariantCulture, shape, token)]);
        Assert.False(result.IsSuccess);
        AssertNoPartOf(secret, result.Error!.ToString());
        AssertNoPartOf(secret, result.Error.Permission);
    }

    [Fact]
    public void Identifier_RefusesATokenWithoutRepeatingIt()
    {
        var (token, _, secret) = NewToken();
        var result = Canonical.Identifier(token, "Credential id");
        Assert.Equal(GrantErrorCode.InvalidIdentifier, result.Error?.Code);
        Assert.StartsWith("Credential id holds a bearer token", result.Error!.Message, StringComparison.Ordinal);
        AssertNoPartOf(secret, result.Error.ToString());
        AssertNoPartOf(secret, result.Error.Target);
    }
}
