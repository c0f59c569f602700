using System.Security.Cryptography;
using GrantSilo.Grains.Access;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace GrantSilo.Grains.Tests;

/// <summary>
/// The cluster's call key, given inline or as a file (<c>GrantSilo:Cluster:CallKeyFile</c>, for a secret mounted as a
/// file rather than put in the environment): either form marks calls alike, and a wrong setting stops the silo with a
/// message that names the setting and never holds the key.
/// </summary>
public sealed class ClusterCallKeyOptionsTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("grantsilo-callkey-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private string File(string name, string content)
    {
        var path = Path.Combine(_folder, name);
        System.IO.File.WriteAllText(path, content);
        return path;
    }

    private static ClusterCallKey Key(string? inline = null, string? file = null) =>
        new(Options.Create(new ClusterCallOptions { CallKey = inline, CallKeyFile = file }), NullLogger<ClusterCallKey>.Instance);

    private static byte[] MarkFor(ClusterCallKey key, string target) =>
        key.Mark(new GrainIdBytes(GrainId.Create("credential", target)));

    [Fact]
    public void AKeyReadFromItsFile_MarksCallsAsTheSameKeyGivenInline_AndWhitespaceAroundItIsIgnored()
    {
        var secret = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));
        using var inline = Key(inline: secret);
        using var fromFile = Key(file: File("call-key", $"{secret}\n"));
        using var other = Key(inline: Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)));

        Assert.Equal(MarkFor(inline, "c1"), MarkFor(fromFile, "c1"));
        Assert.True(fromFile.Matches(MarkFor(inline, "c1"), new GrainIdBytes(GrainId.Create("credential", "c1"))));
        Assert.NotEqual(MarkFor(inline, "c1"), MarkFor(other, "c1"));
    }

    [Fact]
    public void BothFormsAtOnce_AreRefused()
    {
        var secret = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));
        var refused = Assert.Throws<OptionsValidationException>(() => Key(inline: secret, file: File("call-key", secret)));
        Assert.Contains("CallKey or GrantSilo:Cluster:CallKeyFile, not both", refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AMissingOrEmptyFile_IsRefused_NamingTheFile()
    {
        var missing = Path.Combine(_folder, "absent");
        var refused = Assert.Throws<OptionsValidationException>(() => Key(file: missing));
        Assert.Contains($"CallKeyFile names '{missing}', which cannot be read", refused.Message, StringComparison.Ordinal);

        var empty = File("empty", " \n");
        refused = Assert.Throws<OptionsValidationException>(() => Key(file: empty));
        Assert.Contains("which is empty", refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AFileThatHoldsNoUsableKey_IsRefused_WithoutItsContentInTheMessage()
    {
        const string notBase64 = "this-is-not-base64-but-a-secret!";
        var refused = Assert.Throws<OptionsValidationException>(() => Key(file: File("typo", notBase64)));
        Assert.Contains("CallKeyFile", refused.Message, StringComparison.Ordinal);
        Assert.Contains("must be base64", refused.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(notBase64, refused.Message, StringComparison.Ordinal);

        var tooShort = Convert.ToBase64String(RandomNumberGenerator.GetBytes(16));
        refused = Assert.Throws<OptionsValidationException>(() => Key(file: File("short", tooShort)));
        Assert.Contains("must hold at least 32 bytes; it holds 16", refused.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(tooShort, refused.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(null, null, false)]
    [InlineData("a-key", null, true)]
    [InlineData(null, "/run/secrets/call-key", true)]
    [InlineData(" ", "", false)]
    public void AMultiSiloClusterSeesAKey_InEitherForm(string? inline, string? file, bool configured)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["GrantSilo:Cluster:CallKey"] = inline,
            ["GrantSilo:Cluster:CallKeyFile"] = file,
        }).Build();
        Assert.Equal(configured, ClusterCallOptions.IsConfigured(configuration));
    }
}
