using System.Text.Json;
using System.Text.Json.Serialization;

namespace GrantSilo.EndToEnd.Workload;

/// <summary>
/// One invocation in the workload's history (one JSON line): when it started and ended on the
/// workload's clock (UTC ticks), what it was, and what came back.
/// </summary>
public sealed record HistoryRecord
{
    /// <summary>register-agent, create-task, delegate, open-session, issue, authorize, revoke-credential, revoke-task.</summary>
    public required string Op { get; init; }

    public long Start { get; init; }

    public long End { get; init; }

    /// <summary>ok, error (typed refusal or unavailable), timeout (the call exceeded the workload deadline); for authorize: Allow or Deny.</summary>
    public required string Result { get; init; }

    public string? Reason { get; init; }

    public string? Detail { get; init; }

    /// <summary>The credential (issue, authorize, revoke-credential).</summary>
    public string? Credential { get; init; }

    /// <summary>The task (create-task, delegate: the child; issue: the credential's task; revoke-task).</summary>
    public string? Task { get; init; }

    /// <summary>For issue: the credential's task and every ancestor, root first.</summary>
    public IReadOnlyList<string>? Chain { get; init; }

    /// <summary>For issue: when the credential expires (UTC ticks).</summary>
    public long? ExpiresAt { get; init; }

    /// <summary>For authorize: part of the final sweep, which asks again about every credential whose end was acknowledged.</summary>
    public bool? Final { get; init; }

    /// <summary>The silo that answered, by its HTTP API's port, when the call went through the HTTP API.</summary>
    public string? Via { get; init; }

    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };
}
