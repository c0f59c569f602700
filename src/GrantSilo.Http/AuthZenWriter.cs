using System.Buffers;
using System.Text.Json;
using Microsoft.AspNetCore.Http;

namespace GrantSilo.Http;

/// <summary>
/// The hot path's answer: an AuthZEN decision written straight from GrantSilo's <see cref="Decision"/> with a
/// <see cref="Utf8JsonWriter"/>, byte for byte what serializing <see cref="AuthZenEndpoints.Map(Decision)"/>'s
/// <see cref="AuthZenDecision"/> with <see cref="HttpJson.Options"/> writes (<c>AuthZenWriterTests</c> compares them), without
/// building the <see cref="System.Text.Json.Nodes.JsonObject"/> context or running the serializer per request. The answer is
/// written whole with its <c>Content-Length</c>, in one write.
/// </summary>
internal static class AuthZenWriter
{
    private const string JsonContentType = "application/json; charset=utf-8";

    // Each reason's snake_case name, made once rather than per answer.
    private static readonly Dictionary<DecisionReason, JsonEncodedText> Reasons = Enum.GetValues<DecisionReason>().Distinct()
        .ToDictionary(reason => reason, reason => JsonEncodedText.Encode(JsonNamingPolicy.SnakeCaseLower.ConvertName(reason.ToString())));

    [ThreadStatic]
    private static ArrayBufferWriter<byte>? t_buffer;

    [ThreadStatic]
    private static Utf8JsonWriter? t_writer;

    /// <summary>An <see cref="IResult"/> that writes <paramref name="decision"/> as AuthZEN's answer.</summary>
    public static IResult Result(Decision decision) => new DecisionResult(decision);

    /// <summary>Writes <paramref name="decision"/> as AuthZEN's <c>{"decision": ..., "context": {...}}</c>.</summary>
    public static void Write(Utf8JsonWriter writer, Decision decision)
    {
        writer.WriteStartObject();
        writer.WriteBoolean("decision"u8, decision.IsAllowed);
        writer.WriteStartObject("context"u8);
        if (Reasons.TryGetValue(decision.Reason, out var reason))
        {
            writer.WriteString("reason"u8, reason);
        }
        else
        {
            // A value outside the enum (never made by GrantSilo): named as Map names it.
            writer.WriteString("reason"u8, JsonNamingPolicy.SnakeCaseLower.ConvertName(decision.Reason.ToString()));
        }
        if (decision.Kind == DecisionKind.StepUpRequired)
        {
            writer.WriteBoolean("step_up_required"u8, true);
        }
        if (decision.ApprovalId is { } approvalId)
        {
            writer.WriteString("approval_id"u8, approvalId);
        }
        if (decision.Detail is { Length: > 0 } detail)
        {
            writer.WriteString("detail"u8, Problems.Safe(detail));
        }
        if (decision.PolicyVersion is { } version)
        {
            writer.WriteNumber("policy_version"u8, version);
        }
        if (decision.DeterminingPolicies.Count > 0)
        {
            writer.WriteStartArray("determining_policies"u8);
            foreach (var policy in decision.DeterminingPolicies)
            {
                writer.WriteStringValue(policy);
            }
            writer.WriteEndArray();
        }
        if (decision.CredentialId is { } credentialId)
        {
            writer.WriteString("credential_id"u8, credentialId);
        }
        if (decision.DecisionId is { } decisionId)
        {
            // The audit record's id: the resource server's own log can name it, and an investigator look it up.
            writer.WriteString("decision_id"u8, decisionId);
        }
        writer.WriteEndObject();
        writer.WriteEndObject();
    }

    private sealed class DecisionResult(Decision decision) : IResult
    {
        public Task ExecuteAsync(HttpContext httpContext)
        {
            // One buffer and writer per thread, reused: the answer is written into it whole, then copied into the
            // response in one write with its length (no chunked framing, no flush before the request ends).
            var buffer = t_buffer ??= new ArrayBufferWriter<byte>(1024);
            buffer.ResetWrittenCount();
            var writer = t_writer;
            if (writer is null)
            {
                writer = t_writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = HttpJson.Options.Encoder, SkipValidation = true });
            }
            else
            {
                writer.Reset(buffer);
            }
            Write(writer, decision);
            writer.Flush();
            var response = httpContext.Response;
            response.StatusCode = StatusCodes.Status200OK;
            response.ContentType = JsonContentType;
            response.ContentLength = buffer.WrittenCount;
            response.BodyWriter.Write(buffer.WrittenSpan);
            // Large answers (a long detail) do not keep a large buffer on the thread.
            if (buffer.Capacity > 16 * 1024)
            {
                t_buffer = null;
                t_writer = null;
            }
            return Task.CompletedTask;
        }
    }
}
