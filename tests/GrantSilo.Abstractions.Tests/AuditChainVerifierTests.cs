using System.Security.Cryptography;
using System.Text;

namespace GrantSilo.Abstractions.Tests;

/// <summary>
/// A checkpoint's signature binds its stream, its place and its hash (docs/audit.md, Tamper evidence): a genuine stream
/// copied under another name, a checkpoint moved to another place, or one signed over its hash alone (the format before)
/// does not verify, and neither a checkpoint's signature nor a retention cut's passes for the other.
/// </summary>
public sealed class AuditChainVerifierTests : IDisposable
{
    private static readonly DateTimeOffset Start = new(2025, 1, 1, 0, 0, 0, TimeSpan.Zero);

    private readonly ECDsa _key = ECDsa.Create(ECCurve.NamedCurves.nistP256);

    public void Dispose() => _key.Dispose();

    private IReadOnlyDictionary<string, ECDsa> Keys => new Dictionary<string, ECDsa>(StringComparer.Ordinal) { [AuditChain.KeyId(_key)] = _key };

    // Records 1-count of a stream, a signed checkpoint every fifth.
    private List<AuditLine> Stream(string stream, int count = 12)
    {
        var lines = new List<AuditLine>();
        var hash = "";
        for (var sequence = 1L; sequence <= count; sequence++)
        {
            var record = new AuditRecord { Id = $"r{sequence}", Kind = AuditEventKind.Decision, At = Start.AddSeconds(sequence), Silo = stream, Decision = DecisionKind.Allow };
            var line = sequence % 5 == 0
                ? AuditChain.SealCheckpoint(stream, sequence, hash, record with { Kind = AuditEventKind.Checkpoint }, _key, AuditChain.KeyId(_key))
                : AuditChain.Seal(stream, sequence, hash, record);
            lines.Add(line);
            hash = line.Hash;
        }
        return lines;
    }

    private AuditVerification Verify(IEnumerable<AuditLine> lines) =>
        AuditChainVerifier.VerifyExport(lines.Select(l => l.ToJson()), Keys, "export.jsonl");

    private static List<AuditLine> Renamed(IEnumerable<AuditLine> lines, string stream) => [.. lines.Select(l => l with { Stream = stream })];

    [Fact]
    public void GenuineStreams_Verify_WithTheirCheckpointsSignedForTheirStreamAndPlace()
    {
        var verification = Verify([.. Stream("silo-1"), .. Stream("silo-2")]);
        Assert.True(verification.Intact, verification.Detail);
        Assert.Equal(2, verification.Streams);
        Assert.All(verification.PerStream, s => Assert.Equal((10L, 2L), (s.LastCheckpoint!.Sequence, s.Unsigned)));
    }

    [Fact]
    public void AGenuineStreamCopiedUnderAnotherName_IsBroken_AtTheCopysFirstCheckpoint()
    {
        var genuine = Stream("silo-1");

        // A duplicate beside the original (another silo's history made of silo-1's).
        var duplicated = Verify([.. genuine, .. Renamed(genuine, "silo-2")]);
        Assert.False(duplicated.Intact);
        Assert.Equal(AuditBreakKind.BadSignature, duplicated.Broken);
        Assert.Equal(("silo-2", 5L), (duplicated.BrokenStream, duplicated.BrokenSequence));
        Assert.Contains("silo-2", duplicated.Detail, StringComparison.Ordinal);

        // The stream moved: only the copy under the new name.
        var moved = Verify(Renamed(genuine, "silo-2"));
        Assert.Equal(AuditBreakKind.BadSignature, moved.Broken);
        Assert.Equal(("silo-2", 5L), (moved.BrokenStream, moved.BrokenSequence));
    }

    [Fact]
    public void AKeptCheckpoint_MovedToAnotherPlaceOrStream_IsNotSignedForIt()
    {
        var lines = Stream("silo-1");
        var checkpoint = lines[9];

        var intact = new AuditChainVerifier(Keys);
        lines.ForEach(intact.Add);
        intact.AddKeptCheckpoint(checkpoint);
        Assert.True(intact.Result().Intact, intact.Result().Detail);

        var moved = new AuditChainVerifier(Keys);
        lines.ForEach(moved.Add);
        moved.AddKeptCheckpoint(checkpoint with { Sequence = 11 });
        Assert.Equal((AuditBreakKind.BadSignature, 11L), (moved.Result().Broken, moved.Result().BrokenSequence));

        var copied = new AuditChainVerifier(Keys);
        lines.ForEach(copied.Add);
        Stream("silo-2").ForEach(copied.Add);
        copied.AddKeptCheckpoint(checkpoint with { Stream = "silo-2" });
        Assert.Equal((AuditBreakKind.BadSignature, "silo-2"), (copied.Result().Broken, copied.Result().BrokenStream));
    }

    [Fact]
    public void ACheckpointSignedOverItsHashAlone_TheFormatBefore_DoesNotVerify()
    {
        // Signed as checkpoints were before their signature named their stream and place: accepting it would let a
        // copied stream keep verifying.
        var lines = Stream("silo-1");
        var old = lines[4] with { Signature = Convert.ToBase64String(_key.SignData(Encoding.UTF8.GetBytes(lines[4].Hash), HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation)) };
        Assert.False(AuditChain.VerifyCheckpoint(old, _key));
        lines[4] = old;
        var verification = Verify(lines);
        Assert.Equal(AuditBreakKind.BadSignature, verification.Broken);
        Assert.Equal(("silo-1", 5L), (verification.BrokenStream, verification.BrokenSequence));
    }

    [Fact]
    public void ACheckpointsSignature_IsOverTheDocumentedMessage_AndHoldsForItsStreamAndPlaceOnly()
    {
        var checkpoint = Stream("silo-1")[4];

        // What anyone verifying an export in another language signs over (docs/audit.md).
        var message = Encoding.UTF8.GetBytes("grantsilo-audit-checkpoint\nsilo-1\n5\n" + checkpoint.Hash);
        Assert.Equal(message, AuditChain.CheckpointPayload("silo-1", 5, checkpoint.Hash));
        Assert.True(_key.VerifyData(message, Convert.FromBase64String(checkpoint.Signature!), HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation));

        Assert.True(AuditChain.VerifyCheckpoint(checkpoint, _key));
        Assert.False(AuditChain.VerifyCheckpoint(checkpoint with { Stream = "silo-2" }, _key));
        Assert.False(AuditChain.VerifyCheckpoint(checkpoint with { Sequence = 6 }, _key));
        Assert.False(AuditChain.VerifyCheckpoint(checkpoint with { Hash = Stream("silo-1")[5].Hash }, _key));
    }

    [Fact]
    public void NeitherACheckpointsSignatureNorARetentionCutsPassesForTheOther()
    {
        var lines = Stream("silo-1");
        var cut = AuditChain.SealRetentionCut("silo-1", 5, lines[4].Hash, new AuditRecord { Id = "cut", Kind = AuditEventKind.RetentionCut, At = Start }, _key, AuditChain.KeyId(_key));
        Assert.True(AuditChain.VerifyRetentionCut(cut, _key));
        Assert.False(AuditChain.VerifyCheckpoint(cut, _key));

        // A checkpoint's line and signature made to look like a cut at its place (same stream, place and hash).
        var posing = cut with { Signature = lines[4].Signature };
        Assert.False(AuditChain.VerifyRetentionCut(posing, _key));
        var verification = Verify([posing, .. lines.Skip(5)]);
        Assert.Equal(AuditBreakKind.BadSignature, verification.Broken);
        Assert.Equal(("silo-1", 6L), (verification.BrokenStream, verification.BrokenSequence));
    }
}
