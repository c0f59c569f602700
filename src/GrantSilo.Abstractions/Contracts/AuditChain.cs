using System.Buffers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace GrantSilo;

/// <summary>
/// One stored audit line, as the stores keep it and an export writes it (one JSON object per line):
/// <c>{"stream":…,"seq":…,"prev":…,"hash":…,"body":…,"sig":…,"keyId":…}</c>. <see cref="Body"/> is the record's JSON,
/// kept as a string so anyone can hash exactly the bytes that were hashed.
/// </summary>
public sealed record AuditLine
{
    [JsonPropertyName("stream")] public required string Stream { get; init; }
    [JsonPropertyName("seq")] public required long Sequence { get; init; }
    [JsonPropertyName("prev")] public required string PreviousHash { get; init; }
    [JsonPropertyName("hash")] public required string Hash { get; init; }
    [JsonPropertyName("body")] public required string Body { get; init; }
    [JsonPropertyName("sig"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public string? Signature { get; init; }
    [JsonPropertyName("keyId"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public string? KeyId { get; init; }

    /// <summary>True for a signed checkpoint.</summary>
    [JsonIgnore] public bool IsCheckpoint => Signature is not null;

    /// <summary>The line's JSON (no line break), as <see cref="WriteTo"/> writes it.</summary>
    public string ToJson()
    {
        var buffer = new ArrayBufferWriter<byte>(512);
        WriteTo(buffer);
        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    /// <summary>
    /// Writes the line's JSON (no line break) as UTF-8, its members in the order above. Strings are escaped minimally
    /// (<c>\"</c>, not <c>\u0022</c>): the body, a JSON text itself, is most of a line.
    /// </summary>
    public void WriteTo(IBufferWriter<byte> output)
    {
        var length = Encoding.UTF8.GetMaxByteCount(Body.Length);
        var rented = ArrayPool<byte>.Shared.Rent(length);
        try
        {
            var written = Encoding.UTF8.GetBytes(Body, rented);
            AuditLineJson.Write(output, Stream, Sequence, PreviousHash, Hash, rented.AsSpan(0, written), Signature, KeyId);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(rented);
        }
    }

    /// <summary>Reads one line; null when it is not a whole audit line (a torn or edited line).</summary>
    public static AuditLine? TryParse(ReadOnlySpan<byte> utf8)
    {
        try
        {
            var line = JsonSerializer.Deserialize(utf8, AuditJson.Default.AuditLine);
            return line is { Stream: not null, PreviousHash: not null, Hash: not null, Body: not null } ? line : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>The record the body holds; null when the body is not a record (it was edited).</summary>
    public AuditRecord? TryReadRecord()
    {
        try
        {
            return JsonSerializer.Deserialize(Body, AuditJson.Default.AuditRecord);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>The entry (with its record) this line holds; null when the body is not a record.</summary>
    public AuditEntry? ToEntry() => TryReadRecord() is { } record
        ? new AuditEntry { Stream = Stream, Sequence = Sequence, PreviousHash = PreviousHash, Hash = Hash, Body = Body, Signature = Signature, KeyId = KeyId, Record = record }
        : null;
}

/// <summary>
/// The hash chain and checkpoint signatures of the audit log (docs/audit.md), in one place: the silo seals with it, the
/// stores and <c>grantctl audit verify</c> check with it.
/// </summary>
public static class AuditChain
{
    /// <summary>
    /// How records and lines are written: strings escaped minimally (quotes as <c>\"</c>, other text as it is). Audit JSON
    /// is stored, exported and hashed, never embedded in an HTML page; whatever shows it encodes it for its page.
    /// </summary>
    public static readonly JsonWriterOptions WriterOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    // The sealing buffer of the thread that seals (a silo's single audit writer): reused, so sealing allocates only the
    // line, its body and its hash.
    [ThreadStatic]
    private static ArrayBufferWriter<byte>? t_seal;

    [ThreadStatic]
    private static Utf8JsonWriter? t_sealWriter;

    /// <summary>The record's JSON as hashed and stored.</summary>
    public static string Serialize(AuditRecord record)
    {
        var buffer = new ArrayBufferWriter<byte>(1024);
        using (var writer = new Utf8JsonWriter(buffer, WriterOptions))
        {
            AuditRecordJson.Write(writer, record);
        }
        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    /// <summary>SHA-256 of <c>prev + "\n" + body</c> (UTF-8), lower-case hex.</summary>
    public static string Hash(string previousHash, string body)
    {
        var count = Encoding.UTF8.GetByteCount(previousHash) + 1 + Encoding.UTF8.GetByteCount(body);
        var buffer = count <= 4096 ? stackalloc byte[count] : new byte[count];
        var written = Encoding.UTF8.GetBytes(previousHash, buffer);
        buffer[written++] = (byte)'\n';
        Encoding.UTF8.GetBytes(body, buffer[written..]);
        Span<byte> hash = stackalloc byte[32];
        SHA256.HashData(buffer, hash);
        return Convert.ToHexStringLower(hash);
    }

    /// <summary>Seals a record as the next line of a stream.</summary>
    public static AuditLine Seal(string stream, long sequence, string previousHash, AuditRecord record)
    {
        var body = new ArrayBufferWriter<byte>(1024);
        var hash = Seal(stream, sequence, previousHash, record, encoded: null, body, silo: null);
        return new AuditLine { Stream = stream, Sequence = sequence, PreviousHash = previousHash, Hash = hash, Body = Encoding.UTF8.GetString(body.WrittenSpan) };
    }

    /// <summary>
    /// Seals a record as the next line of a stream without making the line's object: writes the record's JSON (the line's
    /// body, UTF-8) to <paramref name="body"/> and, when given, the line's JSON and a line break to
    /// <paramref name="encoded"/>; returns the line's hash.
    /// </summary>
    public static string Seal(string stream, long sequence, string previousHash, AuditRecord record, IBufferWriter<byte>? encoded, IBufferWriter<byte> body, string? silo)
    {
        // prev + "\n" + body, written once as UTF-8 and hashed where it lies.
        var buffer = BeginHashed(previousHash, out var prefix);
        var writer = t_sealWriter ??= new Utf8JsonWriter(buffer, WriterOptions);
        writer.Reset(buffer);
        AuditRecordJson.Write(writer, record, silo);
        writer.Flush();
        var hash = HexSha256(buffer.WrittenSpan);
        var json = buffer.WrittenSpan[prefix..];
        if (encoded is not null)
        {
            AuditLineJson.Write(encoded, stream, sequence, previousHash, hash, json, signature: null, keyId: null);
            encoded.Write("\n"u8);
        }
        body.Write(json);
        KeepSmall(buffer);
        return hash;
    }

    /// <summary>
    /// Encodes a record's body ahead of sealing, where the record is made (in parallel with every other caller) rather than
    /// on the stream's one writer: writes the record's JSON (exactly what <see cref="Seal(string, long, string, AuditRecord, IBufferWriter{byte}?, IBufferWriter{byte}, string?)"/>
    /// hashes and stores) to <paramref name="output"/>, then that JSON escaped as a line's <c>body</c> string. Returns the
    /// two lengths; <see cref="SealEncoded"/> seals it.
    /// </summary>
    public static (int Json, int Escaped) EncodeBody(AuditRecord record, string? silo, ArrayBufferWriter<byte> output)
    {
        var start = output.WrittenCount;
        var writer = t_encodeWriter ??= new Utf8JsonWriter(output, WriterOptions);
        writer.Reset(output);
        AuditRecordJson.Write(writer, record, silo);
        writer.Flush();
        var json = output.WrittenCount - start;
        AuditLineJson.Escaped(output, output.WrittenSpan.Slice(start, json));
        return (json, output.WrittenCount - start - json);
    }

    [ThreadStatic]
    private static Utf8JsonWriter? t_encodeWriter;

    /// <summary>
    /// Seals a body encoded ahead (<see cref="EncodeBody"/>) as the next line of a stream: hashes <c>prev + "\n" + json</c>,
    /// writes the line's JSON and a line break to <paramref name="encoded"/> with the escaped body as it is, and the body's
    /// JSON to <paramref name="body"/>; returns the line's hash. The same line, byte for byte, as sealing the record.
    /// </summary>
    public static string SealEncoded(string stream, long sequence, string previousHash, ReadOnlySpan<byte> json, ReadOnlySpan<byte> escaped, IBufferWriter<byte> encoded, IBufferWriter<byte> body)
    {
        var buffer = BeginHashed(previousHash, out _);
        buffer.Write(json);
        var hash = HexSha256(buffer.WrittenSpan);
        AuditLineJson.WriteEscapedBody(encoded, stream, sequence, previousHash, hash, escaped);
        encoded.Write("\n"u8);
        body.Write(json);
        KeepSmall(buffer);
        return hash;
    }

    // The thread's sealing buffer, begun with what a line's hash covers before its body: prev and a line break.
    private static ArrayBufferWriter<byte> BeginHashed(string previousHash, out int prefix)
    {
        var buffer = t_seal ??= new ArrayBufferWriter<byte>(4096);
        buffer.ResetWrittenCount();
        prefix = Encoding.UTF8.GetByteCount(previousHash) + 1;
        var head = buffer.GetSpan(prefix);
        Encoding.UTF8.GetBytes(previousHash, head);
        head[prefix - 1] = (byte)'\n';
        buffer.Advance(prefix);
        return buffer;
    }

    private static string HexSha256(ReadOnlySpan<byte> bytes)
    {
        Span<byte> digest = stackalloc byte[32];
        SHA256.HashData(bytes, digest);
        return Convert.ToHexStringLower(digest);
    }

    // One unusually large record does not keep its buffer for the thread's lifetime.
    private static void KeepSmall(ArrayBufferWriter<byte> buffer)
    {
        if (buffer.Capacity > 65536)
        {
            t_seal = null;
            t_sealWriter = null;
        }
    }

    /// <summary>
    /// Seals a checkpoint as the next line of a stream and signs <see cref="CheckpointPayload"/>: its stream, its place
    /// and its hash, so the signature holds for that stream at that place only.
    /// </summary>
    public static AuditLine SealCheckpoint(string stream, long sequence, string previousHash, AuditRecord checkpoint, ECDsa key, string keyId)
    {
        var line = Seal(stream, sequence, previousHash, checkpoint);
        var signature = key.SignData(CheckpointPayload(stream, sequence, line.Hash), HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation);
        return line with { Signature = Convert.ToBase64String(signature), KeyId = keyId };
    }

    /// <summary>
    /// What a checkpoint's signature covers: UTF-8 of <c>"grantsilo-audit-checkpoint\n" + stream + "\n" + seq + "\n" +
    /// hash</c> (seq in decimal, hash in lower-case hex). A line's hash covers neither its stream's name nor its place, so
    /// the signature must: a genuine stream copied under another name, or a checkpoint moved to another place, no longer
    /// verifies. The label keeps it apart from a retention cut's (<see cref="RetentionCutPayload"/>).
    /// </summary>
    public static byte[] CheckpointPayload(string stream, long sequence, string hash) =>
        Encoding.UTF8.GetBytes($"grantsilo-audit-checkpoint\n{stream}\n{sequence.ToString(System.Globalization.CultureInfo.InvariantCulture)}\n{hash}");

    /// <summary>
    /// Seals a retention cut for a stream whose records up to <paramref name="lastRemoved"/> retention is about to remove:
    /// a line at that sequence number with that record's hash (<paramref name="linkHash"/>, which the first record kept
    /// links to), no <c>prev</c>, the cut's record as body, signed over <see cref="RetentionCutPayload"/>. Read back as
    /// the stream's first line, it vouches for where the stream now starts.
    /// </summary>
    public static AuditLine SealRetentionCut(string stream, long lastRemoved, string linkHash, AuditRecord cut, ECDsa key, string keyId)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(lastRemoved, 1);
        var body = Serialize(cut with { Kind = AuditEventKind.RetentionCut });
        var signature = key.SignData(RetentionCutPayload(stream, lastRemoved, linkHash, body), HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation);
        return new AuditLine { Stream = stream, Sequence = lastRemoved, PreviousHash = "", Hash = linkHash, Body = body, Signature = Convert.ToBase64String(signature), KeyId = keyId };
    }

    /// <summary>
    /// What a retention cut's signature covers: UTF-8 of <c>"grantsilo-audit-retention-cut\n" + stream + "\n" + seq +
    /// "\n" + hash + "\n" + body</c>. Its label differs from a checkpoint's (<see cref="CheckpointPayload"/>), so neither can
    /// pass for the other.
    /// </summary>
    public static byte[] RetentionCutPayload(string stream, long sequence, string hash, string body) =>
        Encoding.UTF8.GetBytes($"grantsilo-audit-retention-cut\n{stream}\n{sequence.ToString(System.Globalization.CultureInfo.InvariantCulture)}\n{hash}\n{body}");

    /// <summary>Whether a line is a retention cut (signed, its body a <see cref="AuditEventKind.RetentionCut"/> record); its signature is not checked.</summary>
    public static bool IsRetentionCut(AuditLine line) =>
        line.Signature is not null && line.PreviousHash.Length == 0 && line.TryReadRecord() is { Kind: AuditEventKind.RetentionCut };

    /// <summary>Whether a retention cut's signature verifies with <paramref name="key"/>.</summary>
    public static bool VerifyRetentionCut(AuditLine line, ECDsa key) =>
        VerifySigned(line, RetentionCutPayload(line.Stream, line.Sequence, line.Hash, line.Body), key);

    /// <summary>
    /// Whether a checkpoint's signature verifies with <paramref name="key"/> over <see cref="CheckpointPayload"/> for the
    /// stream and place the line claims. A signature over anything else does not: the hash alone (the format before this
    /// one, never accepted, so an old signature cannot keep a copied stream verifying), or another stream or place.
    /// </summary>
    public static bool VerifyCheckpoint(AuditLine line, ECDsa key) =>
        VerifySigned(line, CheckpointPayload(line.Stream, line.Sequence, line.Hash), key);

    private static bool VerifySigned(AuditLine line, byte[] payload, ECDsa key)
    {
        if (line.Signature is null)
        {
            return false;
        }
        Span<byte> signature = stackalloc byte[128];
        return Convert.TryFromBase64String(line.Signature, signature, out var length)
            && key.VerifyData(payload, signature[..length], HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation);
    }

    /// <summary>A key's id: base64url of the first 16 bytes of the SHA-256 of its SubjectPublicKeyInfo.</summary>
    public static string KeyId(ECDsa key) =>
        Convert.ToBase64String(SHA256.HashData(key.ExportSubjectPublicKeyInfo())[..16]).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    /// <summary>The published form of a key: its id and public PEM.</summary>
    public static AuditSigningKey Publish(ECDsa key) => new() { KeyId = KeyId(key), PublicKeyPem = key.ExportSubjectPublicKeyInfoPem() };

    /// <summary>Imports published keys, by id.</summary>
    public static IReadOnlyDictionary<string, ECDsa> Import(IEnumerable<AuditSigningKey> keys)
    {
        var imported = new Dictionary<string, ECDsa>(StringComparer.Ordinal);
        foreach (var published in keys)
        {
            var key = ECDsa.Create();
            key.ImportFromPem(published.PublicKeyPem);
            imported[KeyId(key)] = key;
        }
        return imported;
    }
}

/// <summary>
/// Verifies audit streams line by line: each line's hash, its link to the line before, consecutive sequence numbers, and
/// every checkpoint's signature; that each stream starts at record 1 or at a signed retention cut; that each checkpoint
/// kept aside is still in its stream; and that every stream is signed at all. Reports the first break, and for each
/// stream its last signed checkpoint and how many records follow it unsigned.
/// </summary>
/// <param name="keys">The published keys, by id.</param>
/// <param name="unsignedAllowed">
/// A stream that may hold records and no checkpoint yet without that being a break: the verifying silo's own stream while
/// its journal has not had its first checkpoint written (a journal writes one with its first write after opening its
/// stream). Null offline and in every other case.
/// </param>
public sealed class AuditChainVerifier(IReadOnlyDictionary<string, ECDsa> keys, string? unsignedAllowed = null)
{
    private readonly Dictionary<string, StreamState> _streams = new(StringComparer.Ordinal);
    private readonly List<string> _order = [];
    private AuditCheckpoint? _lastCheckpoint;
    private long _checked;
    private AuditVerification? _broken;
    private bool _finished;

    /// <summary>Whether a break has been found (later lines are not looked at).</summary>
    public bool IsBroken => _broken is not null;

    /// <summary>
    /// Verifies an export (JSON lines, as <c>GET /v1/audit/export</c> writes them) with nothing but its lines and the
    /// published keys, by the same rules as the silo: what <c>grantctl audit verify --file</c> and anyone outside do. An
    /// export holds no kept checkpoints and no live stream, so a stream in it with no checkpoint is always a break.
    /// </summary>
    public static AuditVerification VerifyExport(IEnumerable<string> lines, IReadOnlyDictionary<string, ECDsa> keys, string source)
    {
        ArgumentNullException.ThrowIfNull(lines);
        var verifier = new AuditChainVerifier(keys);
        var number = 0;
        foreach (var text in lines)
        {
            number++;
            if (text.Length == 0)
            {
                continue;
            }
            if (AuditLine.TryParse(Encoding.UTF8.GetBytes(text)) is not { } line)
            {
                verifier.Unreadable("(export)", $"Line {number} of {source} is not an audit record.");
                break;
            }
            verifier.Add(line);
            if (verifier.IsBroken)
            {
                break;
            }
        }
        return verifier.Result();
    }

    /// <summary>
    /// Checks the next line of its stream. A stream's first line is record 1, or a signed retention cut
    /// (<see cref="AuditEventKind.RetentionCut"/>) that the rest of the stream links to: anything else means its first
    /// records were removed (<see cref="AuditBreakKind.StartRemoved"/>).
    /// </summary>
    public void Add(AuditLine line)
    {
        if (_broken is not null)
        {
            return;
        }
        _checked++;
        if (!_streams.TryGetValue(line.Stream, out var stream))
        {
            _streams[line.Stream] = stream = new StreamState();
            _order.Add(line.Stream);
            if (AuditChain.IsRetentionCut(line))
            {
                StartAtCut(line, stream);
                return;
            }
            if (line.Sequence != 1)
            {
                Break(AuditBreakKind.StartRemoved, line.Stream, line.Sequence,
                    $"Stream {line.Stream} starts at record {line.Sequence}: records before it were removed, and no signed retention cut says retention removed them.");
                return;
            }
            if (line.PreviousHash.Length != 0)
            {
                Break(AuditBreakKind.BrokenLink, line.Stream, line.Sequence, "The first record of the stream links to a predecessor.");
                return;
            }
        }
        else
        {
            if (line.Sequence != stream.Last + 1)
            {
                Break(AuditBreakKind.SequenceGap, line.Stream, line.Sequence, $"Sequence {line.Sequence} follows {stream.Last}: records are missing or out of order.");
                return;
            }
            if (!string.Equals(line.PreviousHash, stream.LastHash, StringComparison.Ordinal))
            {
                Break(AuditBreakKind.BrokenLink, line.Stream, line.Sequence, $"Record {line.Sequence} does not link to record {stream.Last}: a record was removed, inserted or replaced.");
                return;
            }
        }
        if (!string.Equals(AuditChain.Hash(line.PreviousHash, line.Body), line.Hash, StringComparison.Ordinal))
        {
            Break(AuditBreakKind.HashMismatch, line.Stream, line.Sequence, $"Record {line.Sequence} does not match its hash: it was edited.");
            return;
        }
        if (line.IsCheckpoint)
        {
            if (!Signed(line, AuditChain.VerifyCheckpoint))
            {
                Break(AuditBreakKind.BadSignature, line.Stream, line.Sequence, $"Checkpoint {line.Sequence} of stream {line.Stream} is not signed by a published key for that stream and place (key id {line.KeyId}): it was forged, or copied from another stream or place.");
                return;
            }
            _lastCheckpoint = stream.LastCheckpoint = new AuditCheckpoint { Stream = line.Stream, Sequence = line.Sequence, Hash = line.Hash, At = line.TryReadRecord()?.At ?? default, KeyId = line.KeyId! };
            stream.SignedThrough = line.Sequence;
            stream.Seen[line.Sequence] = line.Hash;
        }
        stream.Last = line.Sequence;
        stream.LastHash = line.Hash;
    }

    /// <summary>Reports a stream that could not be read whole (a torn or unreadable line) after its last good line.</summary>
    public void Unreadable(string stream, string detail)
    {
        if (_broken is null)
        {
            if (!_streams.TryGetValue(stream, out var state))
            {
                _streams[stream] = state = new StreamState();
                _order.Add(stream);
            }
            Break(AuditBreakKind.Truncated, stream, state.Last + 1, detail);
        }
    }

    /// <summary>
    /// Checks a checkpoint kept aside from its stream (the stores keep each one twice), after the stream's lines have all
    /// been added: it must verify, and its stream must still hold it, unless a signed retention cut says retention
    /// removed it.
    /// </summary>
    public void AddKeptCheckpoint(AuditLine checkpoint)
    {
        if (_broken is not null)
        {
            return;
        }
        var stream = _streams.GetValueOrDefault(checkpoint.Stream);
        if (stream?.Cut is { } cut && checkpoint.Sequence <= cut)
        {
            return;
        }
        if (!Signed(checkpoint, AuditChain.VerifyCheckpoint))
        {
            Break(AuditBreakKind.BadSignature, checkpoint.Stream, checkpoint.Sequence, $"A kept checkpoint ({checkpoint.Sequence}) of stream {checkpoint.Stream} is not signed by a published key for that stream and place: it was forged, or copied from another stream or place.");
            return;
        }
        if (stream is null || !stream.Seen.TryGetValue(checkpoint.Sequence, out var hash) || !string.Equals(hash, checkpoint.Hash, StringComparison.Ordinal))
        {
            Break(AuditBreakKind.CheckpointMissing, checkpoint.Stream, checkpoint.Sequence,
                $"Signed checkpoint {checkpoint.Sequence} is no longer in its stream: records up to it were removed or the stream was truncated.");
        }
    }

    /// <summary>The verdict, once every line (and kept checkpoint) has been added.</summary>
    public AuditVerification Result()
    {
        if (!_finished && _broken is null)
        {
            _finished = true;
            // A stream nothing in which is signed could have been written whole by anyone with write access to the store.
            foreach (var name in _order)
            {
                var stream = _streams[name];
                if (stream.SignedThrough == 0 && stream.Last > 0 && !string.Equals(name, unsignedAllowed, StringComparison.Ordinal))
                {
                    Break(AuditBreakKind.UnsignedStream, name, stream.First,
                        $"Stream {name} holds {stream.Last - stream.First + 1} records and no signed checkpoint: nothing in it is signed, so anyone with write access to the store could have written it.");
                    break;
                }
            }
        }
        return _broken ?? new AuditVerification
        {
            Intact = true,
            RecordsChecked = _checked,
            Streams = _streams.Count,
            LastCheckpoint = _lastCheckpoint,
            PerStream = PerStream(),
        };
    }

    // The stream begins at a retention cut: signed, it stands for the records it says were removed, and the next record
    // must link to it.
    private void StartAtCut(AuditLine cut, StreamState stream)
    {
        if (!Signed(cut, AuditChain.VerifyRetentionCut))
        {
            Break(AuditBreakKind.BadSignature, cut.Stream, cut.Sequence + 1, $"The retention cut before record {cut.Sequence + 1} is not signed by a published key (key id {cut.KeyId}).");
            return;
        }
        if (cut.PreviousHash.Length != 0 || cut.Sequence < 1)
        {
            Break(AuditBreakKind.BrokenLink, cut.Stream, cut.Sequence + 1, "The stream's retention cut is not one a store writes.");
            return;
        }
        stream.Cut = stream.Last = stream.SignedThrough = cut.Sequence;
        stream.First = cut.Sequence + 1;
        stream.LastHash = cut.Hash;
    }

    private bool Signed(AuditLine line, Func<AuditLine, ECDsa, bool> verify) =>
        line.KeyId is not null && keys.TryGetValue(line.KeyId, out var key) && verify(line, key);

    private List<AuditStreamVerification> PerStream() =>
        [.. _order.Select(name =>
        {
            var s = _streams[name];
            return new AuditStreamVerification
            {
                Stream = name,
                FirstSequence = s.First,
                LastSequence = s.Last,
                RetentionCut = s.Cut,
                LastCheckpoint = s.LastCheckpoint,
                Unsigned = Math.Max(0, s.Last - Math.Max(s.SignedThrough, s.First - 1)),
            };
        })];

    private void Break(AuditBreakKind kind, string stream, long? sequence, string detail)
    {
        var lastInStream = _lastCheckpoint is { } c && c.Stream == stream ? c : null;
        _broken = new AuditVerification
        {
            Intact = false,
            RecordsChecked = _checked,
            Streams = _streams.Count,
            Broken = kind,
            BrokenStream = stream,
            BrokenSequence = sequence,
            Detail = detail,
            LastCheckpoint = lastInStream ?? _lastCheckpoint,
            PerStream = PerStream(),
        };
    }

    private sealed class StreamState
    {
        public long First { get; set; } = 1;
        public long Last { get; set; }
        public string LastHash { get; set; } = "";
        public long? Cut { get; set; }
        public long SignedThrough { get; set; }
        public AuditCheckpoint? LastCheckpoint { get; set; }
        public Dictionary<long, string> Seen { get; } = [];
    }
}

/// <summary>How audit records and lines are written as JSON: camelCase, enums by name, nulls left out.</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull, UseStringEnumConverter = true)]
[JsonSerializable(typeof(AuditRecord))]
[JsonSerializable(typeof(AuditLine))]
[JsonSerializable(typeof(AuditSigningKey))]
[JsonSerializable(typeof(List<AuditSigningKey>))]
public sealed partial class AuditJson : JsonSerializerContext;
