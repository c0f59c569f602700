using System.Security.Cryptography;
using System.Text;
using GrantSilo.Identity.Tokens;
using Microsoft.IdentityModel.Tokens;

namespace GrantSilo.Identity.Tests;

/// <summary>
/// Credential tokens as RFC 9068 JWTs: written by GrantSilo, verified offline with Microsoft.IdentityModel alone from
/// the published key, the delegation chain as nested act claims; and every token attack the issue lists, refused
/// without the token in the reason.
/// </summary>
public sealed class CredentialJwtTests : IDisposable
{
    private const string Issuer = "https://grantsilo.test";
    private const string Resource = "https://repo.test/api";
    private static readonly DateTimeOffset Now = new(2026, 11, 26, 12, 0, 0, TimeSpan.Zero);
    private readonly ECDsa _key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
    private readonly ECDsa _otherRing = ECDsa.Create(ECCurve.NamedCurves.nistP256);

    public void Dispose()
    {
        _key.Dispose();
        _otherRing.Dispose();
    }

    private static CredentialClaims Claims(Func<CredentialClaims, CredentialClaims>? change = null)
    {
        var claims = new CredentialClaims
        {
            Issuer = Issuer,
            Subject = "spiffe://acme.test/agents/worker",
            Audience = Resource,
            CredentialId = "c-1234",
            ClientId = "service:orchestrator",
            Permissions = ["repo:read:acme/*", "doc:read:reports/q3 final.md", "wiki:read:%pct\"quote\\back"],
            IssuedAt = Now,
            NotBefore = Now,
            ExpiresAt = Now.AddMinutes(5),
            TaskId = "t-child",
            RootPerson = "person:alice@acme.test",
            MaxClassification = "internal",
            Actors = ["spiffe://acme.test/agents/planner", "spiffe://acme.test/agents/lead", "service:orchestrator"],
            ConfirmationThumbprint = "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I",
        };
        return change is null ? claims : change(claims);
    }

    private ECDsaSecurityKey Published(ECDsa key, string kid) => new(ECDsa.Create(key.ExportParameters(false))) { KeyId = kid };

    private Task<(CredentialClaims? Claims, CredentialJwtRefusal? Refusal)> ValidateAsync(string token, DateTimeOffset? at = null, string audience = Resource) =>
        CredentialJwt.ValidateAsync(token, Issuer, audience, [Published(_key, "k1")], at ?? Now.AddMinutes(1));

    [Fact]
    public async Task ATokenGrantSiloWrites_VerifiesOffline_WithEveryClaimAndTheChain()
    {
        var written = Claims();
        var token = CredentialJwt.Create(written, _key, "k1");

        var (read, refusal) = await ValidateAsync(token);

        Assert.Null(refusal);
        Assert.NotNull(read);
        Assert.Equal(written.Subject, read.Subject);
        Assert.Equal(written.Audience, read.Audience);
        Assert.Equal(written.CredentialId, read.CredentialId);
        Assert.Equal(written.ClientId, read.ClientId);
        Assert.Equal(written.Permissions, read.Permissions);
        Assert.Equal(written.TaskId, read.TaskId);
        Assert.Equal(written.RootPerson, read.RootPerson);
        Assert.Equal(written.MaxClassification, read.MaxClassification);
        Assert.Equal(written.Actors, read.Actors);
        Assert.Equal(written.ConfirmationThumbprint, read.ConfirmationThumbprint);
        Assert.Equal(written.ExpiresAt, read.ExpiresAt);
        // The chain is nested act claims, the nearest actor outermost (RFC 8693 §4.1), and the header says at+jwt.
        var payload = Encoding.UTF8.GetString(Base64UrlEncoder.DecodeBytes(token.Split('.')[1]));
        Assert.Contains("\"act\":{\"sub\":\"spiffe://acme.test/agents/planner\",\"act\":{\"sub\":\"spiffe://acme.test/agents/lead\",\"act\":{\"sub\":\"service:orchestrator\"}}}", payload, StringComparison.Ordinal);
        Assert.Contains("\"typ\":\"at+jwt\"", Encoding.UTF8.GetString(Base64UrlEncoder.DecodeBytes(token.Split('.')[0])), StringComparison.Ordinal);
        // Scope tokens hold no space, quote or backslash (RFC 6749 §3.3).
        var scope = CredentialJwt.EncodeScope(written.Permissions);
        Assert.Equal(2, scope.Count(c => c == ' '));
        Assert.DoesNotContain('"', scope);
        Assert.DoesNotContain('\\', scope);
    }

    public static TheoryData<string, string> Attacks => new()
    {
        { "wrong signature", "signature" },
        { "alg none", "algorithm" },
        { "HS256 with the public key as the secret", "algorithm" },
        { "unknown kid", "key id" },
        { "swapped kid", "signature" },
        { "another deployment's key ring", "key id" },
        { "another issuer", "issuer" },
        { "wrong typ", "type" },
        { "not a JWT", "well-formed" },
    };

    [Theory]
    [MemberData(nameof(Attacks))]
    public async Task ATamperedOrForeignToken_IsRefused_WithoutTheTokenInTheReason(string attack, string reason)
    {
        var token = Forge(attack);

        var (read, refusal) = await ValidateAsync(token);

        Assert.Null(read);
        Assert.NotNull(refusal);
        Assert.Contains(reason, refusal.Reason, StringComparison.Ordinal);
        Assert.DoesNotContain(token, refusal.Reason, StringComparison.Ordinal);
        Assert.All(token.Split('.').Where(part => part.Length > 8), part => Assert.DoesNotContain(part, refusal.Reason, StringComparison.Ordinal));
    }

    [Fact]
    public async Task TheWrongAudience_Expired_OrNotYetValid_IsRefused()
    {
        var token = CredentialJwt.Create(Claims(), _key, "k1");

        Assert.Contains("audience", (await ValidateAsync(token, audience: "https://other.test")).Refusal!.Reason, StringComparison.Ordinal);
        Assert.Contains("not valid now", (await ValidateAsync(token, at: Now.AddMinutes(5))).Refusal!.Reason, StringComparison.Ordinal);
        var later = CredentialJwt.Create(Claims(c => c with { NotBefore = Now.AddMinutes(2) }), _key, "k1");
        Assert.Contains("not valid now", (await ValidateAsync(later, at: Now.AddMinutes(1))).Refusal!.Reason, StringComparison.Ordinal);
        Assert.Null((await ValidateAsync(later, at: Now.AddMinutes(2))).Refusal);
    }

    private string Forge(string attack)
    {
        var genuine = CredentialJwt.Create(Claims(), _key, "k1");
        var parts = genuine.Split('.');
        string Header(string json) => Base64UrlEncoder.Encode(json);
        string Sign(string input, ECDsa key) => Base64UrlEncoder.Encode(key.SignData(Encoding.ASCII.GetBytes(input), HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation));
        switch (attack)
        {
            case "wrong signature":
            {
                // The payload widened after signing: the signature no longer matches.
                var payload = Encoding.UTF8.GetString(Base64UrlEncoder.DecodeBytes(parts[1])).Replace("repo:read:acme/*", "repo:write:acme/*", StringComparison.Ordinal);
                return $"{parts[0]}.{Base64UrlEncoder.Encode(payload)}.{parts[2]}";
            }
            case "alg none":
                return $"{Header("""{"alg":"none","typ":"at+jwt","kid":"k1"}""")}.{parts[1]}.";
            case "HS256 with the public key as the secret":
            {
                var input = $"{Header("""{"alg":"HS256","typ":"at+jwt","kid":"k1"}""")}.{parts[1]}";
                var publicKey = _key.ExportSubjectPublicKeyInfo();
                return $"{input}.{Base64UrlEncoder.Encode(HMACSHA256.HashData(publicKey, Encoding.ASCII.GetBytes(input)))}";
            }
            case "unknown kid":
            {
                var input = $"{Header("""{"alg":"ES256","typ":"at+jwt","kid":"k-unknown"}""")}.{parts[1]}";
                return $"{input}.{Sign(input, _key)}";
            }
            case "swapped kid":
            {
                // Signed by another key, but naming the published one.
                var input = $"{parts[0]}.{parts[1]}";
                return $"{input}.{Sign(input, _otherRing)}";
            }
            case "another deployment's key ring":
                return CredentialJwt.Create(Claims(), _otherRing, "k-other");
            case "another issuer":
                return CredentialJwt.Create(Claims(c => c with { Issuer = "https://evil.test" }), _key, "k1");
            case "wrong typ":
            {
                var input = $"{Header("""{"alg":"ES256","typ":"JWT","kid":"k1"}""")}.{parts[1]}";
                return $"{input}.{Sign(input, _key)}";
            }
            case "not a JWT":
                return "not.a.jwt";
            default:
                throw new ArgumentOutOfRangeException(nameof(attack), attack, null);
        }
    }
}
