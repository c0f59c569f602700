using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;

namespace GrantSilo.Abstractions.Tests;

/// <summary>Tokens shaped as GrantSilo credential JWTs, with a random signature: well-formed, and issued by nobody.</summary>
internal static class ShapedTokens
{
    public static string New(string credentialId, string? payload = null) =>
        Part("""{"alg":"ES256","typ":"at+jwt","kid":"k"}""") + "." + Part(payload ?? $$"""{"iss":"urn:grantsilo:local","jti":"{{credentialId}}","exp":4102444800}""")
        + "." + Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(64));

    /// <summary>A token of the retired opaque format: <c>gs1.&lt;id&gt;.&lt;secret&gt;</c>.</summary>
    public static string Legacy(string credentialId) => CredentialToken.LegacyPrefix + credentialId + "." + Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(32));

    private static string Part(string json) => Base64Url.EncodeToString(Encoding.UTF8.GetBytes(json));
}
