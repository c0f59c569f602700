using System.Text;
using CsCheck;

namespace GrantSilo.Abstractions.Tests;

/// <summary>
/// Resource paths and patterns refuse everything a gateway could decode or normalize after the decision
/// into a different path: white space and separators, invisible characters, percent-escapes, backslashes,
/// URL delimiters, dot-only segments and their compatibility look-alikes.
/// </summary>
public class ResourcePathTests
{
    [Theory]
    [InlineData("acme/pay ments")]           // U+0020
    [InlineData("acme/pay\u00A0ments")]      // no-break space
    [InlineData("acme/pay\u2000ments")]      // en quad
    [InlineData("acme/pay\u3000ments")]      // ideographic space
    [InlineData("acme/pay\u2028ments")]      // line separator
    [InlineData("acme/pay\u200Bments")]      // zero-width space
    [InlineData("acme/pay\u202Ements")]      // right-to-left override
    [InlineData("acme/\tpayments")]          // control
    [InlineData("acme/%2e%2e/secret")]       // percent-encoded dot segment
    [InlineData("acme/%2E%2e/secret")]
    [InlineData("acme/.%2e/secret")]
    [InlineData("acme/%2fsecret")]           // percent-encoded separator
    [InlineData("acme/%41")]                 // any percent-escape
    [InlineData("acme\\..\\secret")]         // backslashes
    [InlineData("acme/..;/secret")]          // path parameter hiding a dot segment
    [InlineData("acme/?/secret")]            // query
    [InlineData("acme/#")]                   // fragment
    [InlineData("acme/.../secret")]          // dots only
    [InlineData("acme/\uFF0E\uFF0E/secret")] // fullwidth full stops (NFKC: '..')
    [InlineData("acme/\u2025/secret")]       // two dot leader (NFKC: '..')
    [InlineData("acme\uFF0Fsecret")]         // fullwidth solidus (NFKC: '/')
    [InlineData("acme\uFF3Csecret")]         // fullwidth reverse solidus (NFKC: '\')
    [InlineData("acme/\uFF05\u0032e")]       // fullwidth percent sign (NFKC: '%')
    [InlineData("acme/\uFF0A")]              // fullwidth asterisk (NFKC: '*')
    public void AmbiguousText_IsRefused_InPathsAndPatterns(string text)
    {
        Assert.Equal(GrantErrorCode.InvalidScope, ResourcePattern.ParsePath(text).Error?.Code);
        Assert.Equal(GrantErrorCode.InvalidScope, ResourcePattern.Parse(text + "/*").Error?.Code);
        Assert.Equal(GrantErrorCode.InvalidScope, Permission.Parse("doc:read:" + text).Error?.Code);
    }

    [Theory]
    [InlineData("acme/payments/ledger.v2")]
    [InlineData("acme/.well-known/x")]
    [InlineData("caf\u00e9/menu")]
    [InlineData("acme/\u65E5\u672C\u8A9E/file")]
    [InlineData("acme/a:b/c@d")]
    [InlineData("acme/\uFF41")]              // fullwidth 'a': NFKC gives 'a', nothing structural
    public void OrdinaryPaths_AreAccepted(string text) =>
        Assert.True(ResourcePattern.ParsePath(text).IsSuccess, ResourcePattern.ParsePath(text).Error?.ToString());

    [Fact]
    public void Refusals_SayWhereAndWhat()
    {
        Assert.Equal("Resource pattern contains '%' at position 5 (percent-escapes are not accepted: pass the decoded path); see docs/resource-paths.md.",
            ResourcePattern.ParsePath("acme/%2e%2e").Error?.Message);
        Assert.Contains("U+3000", ResourcePattern.ParsePath("a\u3000b").Error?.Message, StringComparison.Ordinal);
    }

    // Mostly ordinary characters (with '.', '2', 'e' and 'f' for escapes and dot segments), and often enough
    // a separator or something a gateway could decode or normalize into one.
    private static readonly Gen<string> RawPath = Gen.String[
        Gen.Frequency(
            (8, Gen.Char["ab.2eEfF/"]),
            (1, Gen.Char["%\\ \u00A0\u3000;?#\uFF0E\uFF0F\u2025\u200B\u202E*"])), 1, 14];

    [Fact]
    public void AcceptedPaths_MeanTheSameToADecodingOrNormalizingGateway()
    {
        var accepted = 0;
        RawPath.Sample(text =>
        {
            if (!ResourcePattern.ParsePath(text).IsSuccess)
            {
                return;
            }
            Interlocked.Increment(ref accepted);
            // Decoding percent-escapes changes nothing, and no backslash or white space is left to reinterpret.
            Assert.Equal(text, Uri.UnescapeDataString(text));
            Assert.DoesNotContain('\\', text);
            Assert.DoesNotContain(text, char.IsWhiteSpace);
            // Compatibility normalization keeps every segment a segment, and makes none a dot segment.
            var segments = text.Split('/');
            var normalized = text.Normalize(NormalizationForm.FormKC).Split('/');
            Assert.Equal(segments.Length, normalized.Length);
            Assert.All(normalized, s => Assert.True(s.Length > 0 && s.Trim('.').Length > 0, $"'{text}' has segment '{s}' after NFKC"));
        }, iter: 20_000);
        Assert.True(accepted > 100, $"only {accepted} generated paths were accepted; the property was hardly exercised");
    }

    [Fact]
    public void AnAcceptedPattern_NeverMatchesAPathThatDecodesOutsideIt()
    {
        var matched = 0;
        Gen.Select(RawPath, RawPath).Sample((prefix, rest) =>
        {
            var pattern = ResourcePattern.Parse(prefix + "/*");
            var path = ResourcePattern.ParsePath(prefix + "/" + rest);
            if (!pattern.IsSuccess || !path.IsSuccess || !pattern.Value.Matches(path.Value.Text))
            {
                return;
            }
            Interlocked.Increment(ref matched);
            // However the gateway decodes and normalizes the path, it stays strictly below the prefix.
            var decoded = Uri.UnescapeDataString(path.Value.Text).Normalize(NormalizationForm.FormKC);
            var decodedPrefix = Uri.UnescapeDataString(pattern.Value.Prefix).Normalize(NormalizationForm.FormKC);
            Assert.StartsWith(decodedPrefix + "/", decoded, StringComparison.Ordinal);
            Assert.DoesNotContain(decoded.Split('/'), s => s is "." or "..");
        }, iter: 20_000);
        Assert.True(matched > 100, $"only {matched} generated pairs matched; the property was hardly exercised");
    }
}
