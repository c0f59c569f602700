using System.Buffers;
using System.Text.Json;

namespace GrantSilo;

/// <summary>
/// Writes an audit record's JSON exactly as <see cref="AuditJson"/> serializes it (camelCase, members in declaration order,
/// nulls left out, enums by name), by hand: sealing writes one per decision, on the audit's hot path. A test holds the two
/// equal for generated records.
/// </summary>
internal static class AuditRecordJson
{
    private static readonly JsonEncodedText Id = JsonEncodedText.Encode("id"), Kind = JsonEncodedText.Encode("kind"), At = JsonEncodedText.Encode("at"),
        Silo = JsonEncodedText.Encode("silo"), RootPerson = JsonEncodedText.Encode("rootPerson"), Orchestrator = JsonEncodedText.Encode("orchestrator"),
        TaskChain = JsonEncodedText.Encode("taskChain"), TaskId = JsonEncodedText.Encode("taskId"), Agent = JsonEncodedText.Encode("agent"),
        SessionId = JsonEncodedText.Encode("sessionId"), CredentialId = JsonEncodedText.Encode("credentialId"), TokenHash = JsonEncodedText.Encode("tokenHash"),
        CallerIssuer = JsonEncodedText.Encode("callerIssuer"), CallerSubject = JsonEncodedText.Encode("callerSubject"), CallerName = JsonEncodedText.Encode("callerName"),
        Action = JsonEncodedText.Encode("action"), ResourceType = JsonEncodedText.Encode("resourceType"), ResourcePath = JsonEncodedText.Encode("resourcePath"),
        Decision = JsonEncodedText.Encode("decision"), Reason = JsonEncodedText.Encode("reason"), Detail = JsonEncodedText.Encode("detail"),
        DeterminingPolicies = JsonEncodedText.Encode("determiningPolicies"), PolicyVersion = JsonEncodedText.Encode("policyVersion"),
        ApprovalId = JsonEncodedText.Encode("approvalId"), Cause = JsonEncodedText.Encode("cause"), CauseId = JsonEncodedText.Encode("causeId"),
        Subject = JsonEncodedText.Encode("subject");

    public static void Write(Utf8JsonWriter writer, AuditRecord record, string? silo = null)
    {
        writer.WriteStartObject();
        writer.WriteString(Id, record.Id);
        writer.WriteString(Kind, record.Kind.ToString());
        writer.WriteString(At, record.At);
        Optional(writer, Silo, record.Silo ?? silo);
        Optional(writer, RootPerson, record.RootPerson);
        Optional(writer, Orchestrator, record.Orchestrator);
        List(writer, TaskChain, record.TaskChain);
        Optional(writer, TaskId, record.TaskId);
        Optional(writer, Agent, record.Agent);
        Optional(writer, SessionId, record.SessionId);
        Optional(writer, CredentialId, record.CredentialId);
        Optional(writer, TokenHash, record.TokenHash);
        Optional(writer, CallerIssuer, record.CallerIssuer);
        Optional(writer, CallerSubject, record.CallerSubject);
        Optional(writer, CallerName, record.CallerName);
        Optional(writer, Action, record.Action);
        Optional(writer, ResourceType, record.ResourceType);
        Optional(writer, ResourcePath, record.ResourcePath);
        if (record.Decision is { } decision)
        {
            writer.WriteString(Decision, decision.ToString());
        }
        if (record.Reason is { } reason)
        {
            writer.WriteString(Reason, reason.ToString());
        }
        Optional(writer, Detail, record.Detail);
        List(writer, DeterminingPolicies, record.DeterminingPolicies);
        if (record.PolicyVersion is { } version)
        {
            writer.WriteNumber(PolicyVersion, version);
        }
        Optional(writer, ApprovalId, record.ApprovalId);
        Optional(writer, Cause, record.Cause);
        Optional(writer, CauseId, record.CauseId);
        Optional(writer, Subject, record.Subject);
        writer.WriteEndObject();
    }

    private static void Optional(Utf8JsonWriter writer, JsonEncodedText name, string? value)
    {
        if (value is not null)
        {
            writer.WriteString(name, value);
        }
    }

    private static void List(Utf8JsonWriter writer, JsonEncodedText name, IReadOnlyList<string>? values)
    {
        if (values is null)
        {
            return;
        }
        writer.WriteStartArray(name);
        for (var i = 0; i < values.Count; i++)
        {
            writer.WriteStringValue(values[i]);
        }
        writer.WriteEndArray();
    }
}

/// <summary>
/// Writes an audit line's JSON (<see cref="AuditLine"/>: stream, seq, prev, hash, body, then sig and keyId when signed) by
/// hand. The body, a JSON text already (UTF-8, as hashed), is escaped as a string: it holds no raw control character, so
/// only its quotes and backslashes take a backslash, copied in runs between them.
/// </summary>
internal static class AuditLineJson
{
    private static readonly SearchValues<byte> Special = SearchValues.Create([.. Enumerable.Range(0, 0x20).Select(b => (byte)b), (byte)'"', (byte)'\\']);

    /// <summary>A line with no signature whose body was escaped ahead (<see cref="Escaped(IBufferWriter{byte}, ReadOnlySpan{byte})"/>): the same bytes as <see cref="Write"/>.</summary>
    public static void WriteEscapedBody(IBufferWriter<byte> output, string stream, long sequence, string previousHash, string hash, ReadOnlySpan<byte> escapedBody)
    {
        Head(output, stream, sequence, previousHash, hash);
        output.Write(escapedBody);
        Raw(output, "\"}"u8);
    }

    private static void Head(IBufferWriter<byte> output, string stream, long sequence, string previousHash, string hash)
    {
        Raw(output, "{\"stream\":\""u8);
        Escaped(output, stream);
        Raw(output, "\",\"seq\":"u8);
        var span = output.GetSpan(20);
        sequence.TryFormat(span, out var digits, default, System.Globalization.CultureInfo.InvariantCulture);
        output.Advance(digits);
        Raw(output, ",\"prev\":\""u8);
        Escaped(output, previousHash);
        Raw(output, "\",\"hash\":\""u8);
        Escaped(output, hash);
        Raw(output, "\",\"body\":\""u8);
    }

    public static void Write(IBufferWriter<byte> output, string stream, long sequence, string previousHash, string hash, ReadOnlySpan<byte> body, string? signature, string? keyId)
    {
        Head(output, stream, sequence, previousHash, hash);
        Escaped(output, body);
        if (signature is not null)
        {
            Raw(output, "\",\"sig\":\""u8);
            Escaped(output, signature);
        }
        if (keyId is not null)
        {
            Raw(output, "\",\"keyId\":\""u8);
            Escaped(output, keyId);
        }
        Raw(output, "\"}"u8);
    }

    private static void Raw(IBufferWriter<byte> output, ReadOnlySpan<byte> bytes) => output.Write(bytes);

    private static void Escaped(IBufferWriter<byte> output, string text)
    {
        Span<byte> small = stackalloc byte[256];
        var max = System.Text.Encoding.UTF8.GetMaxByteCount(text.Length);
        byte[]? rented = max > small.Length ? ArrayPool<byte>.Shared.Rent(max) : null;
        try
        {
            var bytes = rented ?? small;
            var length = System.Text.Encoding.UTF8.GetBytes(text, bytes);
            Escaped(output, bytes[..length]);
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<byte>.Shared.Return(rented);
            }
        }
    }

    /// <summary>Writes <paramref name="utf8"/> escaped as the inside of a JSON string, as a line's members are.</summary>
    public static void Escaped(IBufferWriter<byte> output, ReadOnlySpan<byte> utf8)
    {
        // At most six bytes out per byte in (a control character); one span, advanced once.
        var destination = output.GetSpan(utf8.Length * 6);
        var written = 0;
        while (true)
        {
            var at = utf8.IndexOfAny(Special);
            if (at < 0)
            {
                utf8.CopyTo(destination[written..]);
                written += utf8.Length;
                break;
            }
            utf8[..at].CopyTo(destination[written..]);
            written += at;
            var b = utf8[at];
            destination[written++] = (byte)'\\';
            switch (b)
            {
                case (byte)'"' or (byte)'\\':
                    destination[written++] = b;
                    break;
                default:
                    destination[written++] = (byte)'u';
                    destination[written++] = (byte)'0';
                    destination[written++] = (byte)'0';
                    destination[written++] = (byte)"0123456789ABCDEF"[b >> 4];
                    destination[written++] = (byte)"0123456789ABCDEF"[b & 0xF];
                    break;
            }
            utf8 = utf8[(at + 1)..];
        }
        output.Advance(written);
    }
}
