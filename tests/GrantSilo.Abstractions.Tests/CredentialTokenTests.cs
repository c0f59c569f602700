using CsCheck;

namespace GrantSilo.Abstractions.Tests;

public class CredentialTokenTests
{
    [Fact]
    public void TryParse_ReadsTheJti_AndTheSecretVerifiesAgainstTheStoredHash()
    {
        var id = CredentialToken.NewCredentialId();
        var token = ShapedTokens.New(id);
        var hash = CredentialToken.StoredHash(token);
        Assert.True(CredentialToken.TryParse(token, out var parsedId, out var secret));
        Assert.Equal(id, parsedId);
        Assert.True(CredentialToken.Verify(secret, hash));
        Assert.False(CredentialToken.Verify(secret, CredentialToken.StoredHash(ShapedTokens.New(id))));
        Assert.Equal($"jwt(jti={id})", CredentialToken.Redact(token));
        Assert.DoesNotContain(token[^20..], CredentialToken.Redact(token), StringComparison.Ordinal);
    }

    [Fact]
    public void TryParse_RefusesTheRetiredOpaqueFormat()
    {
        Assert.False(CredentialToken.TryParse(ShapedTokens.Legacy(CredentialToken.NewCredentialId()), out _, out _));
    }

    [Theory]
    [InlineData("""{"iss":"x"}""")]
    [InlineData("""{"jti":"short"}""")]
    [InlineData("""{"jti":42}""")]
    [InlineData("""{"jti":"AAAAAAAAAAAAAAAAAAAAAA","jti":"AAAAAAAAAAAAAAAAAAAAAA"}""")]
    [InlineData("""["jti"]""")]
    [InlineData("""{"jti":"AAAAAAAAAAAAAAAAAAAAAA" """)]
    public void TryParse_RefusesAPayloadWithoutOneWellFormedJti(string payload)
    {
        Assert.False(CredentialToken.TryParse(ShapedTokens.New("", payload), out _, out _));
    }

    [Fact]
    public void TryParse_RefusesWrongShapes()
    {
        var token = ShapedTokens.New(CredentialToken.NewCredentialId());
        Assert.False(CredentialToken.TryParse(null, out _, out _));
        Assert.False(CredentialToken.TryParse(token + ".x", out _, out _));
        Assert.False(CredentialToken.TryParse(token[..token.LastIndexOf('.')], out _, out _));
        Assert.False(CredentialToken.TryParse(token[..(token.LastIndexOf('.') + 1)], out _, out _));
        Assert.False(CredentialToken.TryParse(new string('a', CredentialToken.MaxLength + 1), out _, out _));
    }

    [Fact]
    public void TryParse_EveryTruncationOrSingleCharacterChange_IsMalformedOrFailsVerification()
    {
        var id = CredentialToken.NewCredentialId();
        var token = ShapedTokens.New(id);
        var hash = CredentialToken.StoredHash(token);
        for (var length = 0; length < token.Length; length++)
        {
            Assert.False(CredentialToken.TryParse(token[..length], out _, out var secret) && CredentialToken.Verify(secret, hash));
        }
        Gen.Int[0, token.Length - 1].Select(Gen.Char["!~"]).Sample((position, c) =>
        {
            var altered = string.Concat(token.AsSpan(0, position), c.ToString(), token.AsSpan(position + 1));
            if (altered == token)
            {
                return;
            }
            Assert.False(CredentialToken.TryParse(altered, out _, out var secret) && CredentialToken.Verify(secret, hash));
        });
    }
}
