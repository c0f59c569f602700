using System.Buffers;
using System.Text;
using System.Text.Json;
using CsCheck;

namespace GrantSilo.Abstractions.Tests;

/// <summary>
/// Sealing writes records and lines by hand (the audit's hot path): the bytes must be what the JSON serializer writes for
/// a record, and a line must read back as the line it was, for any text a record can carry.
/// </summary>
public sealed class AuditJsonTests
{
    private static readonly string[] Fixed = ["", "a\"b", "back\\slash", "line\nbreak\r\t", "\u0001\u001f", "é ü 中文", "emoji 🙂", "</script>&'+", "\u2028\u2029"];

    // Text with what needs escaping: quotes, backslashes, control characters, line breaks, non-ASCII, astral characters.
    private static readonly Gen<string> Text = Gen.OneOf(
        Gen.String[Gen.Char.AlphaNumeric, 0, 40],
        Gen.String[Gen.Char, 0, 40],
        Gen.Int[0, 8].Select(i => Fixed[i]));


    private static readonly Gen<string?> Optional = Gen.Int[0, 3].SelectMany(i => i == 0 ? Gen.Const(() => (string?)null) : Text.Select(t => (string?)t));

    private static readonly Gen<AuditRecord> Records =
        from id in Gen.String[Gen.Char.AlphaNumeric, 1, 32]
        from kind in Gen.Enum<AuditEventKind>()
        from ticks in Gen.Long[0, DateTimeOffset.MaxValue.Ticks / 2]
        from offset in Gen.Int[-14 * 60, 14 * 60]
        from strings in Optional.Array[21]
        from chain in Text.Array[0, 4]
        from policies in Text.Array[0, 3]
        from decision in Gen.Bool.SelectMany(b => Gen.Enum<DecisionKind>().Select(d => b ? (DecisionKind?)d : null))
        from reason in Gen.Bool.SelectMany(b => Gen.Enum<DecisionReason>().Select(r => b ? (DecisionReason?)r : null))
        from version in Gen.Bool.SelectMany(b => Gen.Long.Select(v => b ? (long?)v : null))
        select new AuditRecord
        {
            Id = id,
            Kind = kind,
            At = new DateTimeOffset(ticks, TimeSpan.FromMinutes(offset)),
            Silo = strings[0], RootPerson = strings[1], Orchestrator = strings[2], TaskChain = chain, TaskId = strings[3], Agent = strings[4],
            SessionId = strings[5], CredentialId = strings[6], TokenHash = strings[7], CallerIssuer = strings[8], CallerSubject = strings[9],
            CallerName = strings[10], Action = strings[11], ResourceType = strings[12], ResourcePath = strings[13], Decision = decision, Reason = reason,
            Detail = strings[14], DeterminingPolicies = policies, PolicyVersion = version, ApprovalId = strings[15], Cause = strings[16],
            CauseId = strings[17], Subject = strings[18],
        };

    [Fact]
    public void Records_AreWrittenByteForByte_AsTheSerializerWritesThem() =>
        Records.Sample(record =>
        {
            var buffer = new ArrayBufferWriter<byte>();
            using (var writer = new Utf8JsonWriter(buffer, AuditChain.WriterOptions))
            {
                JsonSerializer.Serialize(writer, record, AuditJson.Default.AuditRecord);
            }
            Assert.Equal(Encoding.UTF8.GetString(buffer.WrittenSpan), AuditChain.Serialize(record));
        }, iter: 2000);

    [Fact]
    public void EveryMemberOfARecord_IsWrittenByHand()
    {
        // A member added to AuditRecord must be added to AuditRecordJson (and to the generator above), or sealing would
        // leave it out of the hashed body: a record with every member set writes every member's name.
        var names = typeof(AuditRecord).GetProperties().Select(p => JsonNamingPolicy.CamelCase.ConvertName(p.Name)).ToList();
        var full = new AuditRecord
        {
            Id = "i", Kind = AuditEventKind.Decision, At = DateTimeOffset.UnixEpoch, Silo = "s", RootPerson = "p", Orchestrator = "o", TaskChain = ["t"],
            TaskId = "t", Agent = "a", SessionId = "s", CredentialId = "c", TokenHash = "h", CallerIssuer = "ci", CallerSubject = "cs", CallerName = "cn",
            Action = "read", ResourceType = "doc", ResourcePath = "x", Decision = DecisionKind.Allow, Reason = DecisionReason.Allowed, Detail = "d",
            DeterminingPolicies = ["p1"], PolicyVersion = 1, ApprovalId = "ap", Cause = "ca", CauseId = "cid", Subject = "sub",
        };
        using var written = JsonDocument.Parse(AuditChain.Serialize(full));
        Assert.Equal(names.Order(StringComparer.Ordinal), written.RootElement.EnumerateObject().Select(p => p.Name).Order(StringComparer.Ordinal));
    }

    [Fact]
    public void SealedLines_ReadBackAsTheLine_AndHashTheBody_WhetherEncodedWhileSealingOrAfter() =>
        Gen.Select(Records, Gen.Long[1, long.MaxValue - 1], Gen.Bool).Sample((record, sequence, first) =>
        {
            var previous = first ? "" : new string('a', 64);
            var encoded = new ArrayBufferWriter<byte>();
            var body = new ArrayBufferWriter<byte>();
            var hash = AuditChain.Seal("local", sequence, previous, record, encoded, body, silo: null);
            var line = new AuditLine { Stream = "local", Sequence = sequence, PreviousHash = previous, Hash = hash, Body = Encoding.UTF8.GetString(body.WrittenSpan) };
            Assert.Equal(AuditChain.Seal("local", sequence, previous, record), line);

            // The bytes written while sealing: one line (and its break), reading back as the line.
            Assert.Equal((byte)'\n', encoded.WrittenSpan[^1]);
            Assert.Equal(-1, encoded.WrittenSpan[..^1].IndexOf((byte)'\n'));
            Assert.Equal(line, AuditLine.TryParse(encoded.WrittenSpan[..^1]));
            // Written again from the line: the same bytes.
            var again = new ArrayBufferWriter<byte>();
            line.WriteTo(again);
            Assert.True(again.WrittenSpan.SequenceEqual(encoded.WrittenSpan[..^1]));
            // And the serializer reads it as it would read its own writing.
            var serializer = new ArrayBufferWriter<byte>();
            using (var writer = new Utf8JsonWriter(serializer, AuditChain.WriterOptions))
            {
                JsonSerializer.Serialize(writer, line, AuditJson.Default.AuditLine);
            }
            Assert.Equal(AuditLine.TryParse(serializer.WrittenSpan), AuditLine.TryParse(again.WrittenSpan));
            // The hash is over prev, a line break and the body, and the body reads back as the record.
            Assert.Equal(AuditChain.Hash(previous, line.Body), line.Hash);
            Assert.Equal(AuditChain.Serialize(record), line.Body);
        }, iter: 1000);

    [Fact]
    public void ABodyEncodedAhead_SealsToTheSameBytes_AsSealingTheRecord() =>
        Gen.Select(Records, Gen.Long[1, long.MaxValue - 1], Gen.Bool, Text).Sample((record, sequence, first, silo) =>
        {
            var previous = first ? "" : new string('b', 64);
            var encoded = new ArrayBufferWriter<byte>();
            var body = new ArrayBufferWriter<byte>();
            var hash = AuditChain.Seal("local", sequence, previous, record, encoded, body, silo);

            // Encoded by the recorder, after whatever it wrote before (the scratch buffer is reused), then sealed.
            var scratch = new ArrayBufferWriter<byte>();
            scratch.Write("left over"u8);
            var (json, escaped) = AuditChain.EncodeBody(record, silo, scratch);
            var ahead = scratch.WrittenSpan[9..];
            Assert.Equal(json + escaped, ahead.Length);
            var encodedAhead = new ArrayBufferWriter<byte>();
            var bodyAhead = new ArrayBufferWriter<byte>();
            var hashAhead = AuditChain.SealEncoded("local", sequence, previous, ahead[..json], ahead[json..], encodedAhead, bodyAhead);

            Assert.Equal(hash, hashAhead);
            Assert.True(encoded.WrittenSpan.SequenceEqual(encodedAhead.WrittenSpan));
            Assert.True(body.WrittenSpan.SequenceEqual(bodyAhead.WrittenSpan));
        }, iter: 1000);

    [Fact]
    public void SignedCheckpointLines_CarryTheirSignature_AndVerify()
    {
        using var key = System.Security.Cryptography.ECDsa.Create(System.Security.Cryptography.ECCurve.NamedCurves.nistP256);
        var record = new AuditRecord { Id = "c1", Kind = AuditEventKind.Checkpoint, At = DateTimeOffset.UnixEpoch, Detail = "over \"1-9\"" };
        var line = AuditChain.SealCheckpoint("local", 10, new string('b', 64), record, key, "kid-1");
        var written = new ArrayBufferWriter<byte>();
        line.WriteTo(written);
        var read = AuditLine.TryParse(written.WrittenSpan);
        Assert.Equal(line, read);
        Assert.True(AuditChain.VerifyCheckpoint(read!, key));
    }
}
