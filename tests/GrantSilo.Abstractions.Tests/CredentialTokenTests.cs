using CsCheck;

namespace GrantSilo.Abstractions.Tests;

public class CredentialTokenTests
{
    [Fact]
    public void Mint_RoundTripsAndVerifies()
    {
        var id = CredentialToken.NewCredentialId();
        var (token, hash) = CredentialToken.Mint(id);
        Assert.True(CredentialToken.TryParse(token, out var parsedId, out var secret));
        Assert.Equal(id, parsedId);
        Assert.True(CredentialToken.Verify(secret, hash));
        Assert.DoesNotContain(token[^43..], CredentialToken.Redact(token), StringComparison.Ordinal);
    }

    [Fact]
    public void TryParse_RejectsEveryTruncationAndSingleCharacterChange()
    {
        var (token, hash) = CredentialToken.Mint(CredentialToken.NewCredentialId());
        for (var length = 0; length < token.Length; length++)
        {
            Assert.False(CredentialToken.TryParse(token[..length], out _, out _));
        }
        Gen.Int[0, token.Length - 1].Select(Gen.Char["!~"]).Sample((position, c) =>
        {
            var altered = string.Concat(token.AsSpan(0, position), c.ToString(), token.AsSpan(position + 1));
            if (altered == token)
            {
                return;
            }
            // Either malformed, or well formed but naming another id or failing verification.
            if (CredentialToken.TryParse(altered, out var id, out var secret))
            {
                Assert.True(id != token[4..26] || !CredentialToken.Verify(secret, hash));
            }
        });
    }
}
