namespace GrantSilo.Grains.Approvals;

/// <summary>The durable state of an approval grain: the exact request awaiting a person.</summary>
[GenerateSerializer, Alias("grantsilo.approval-state")]
public sealed class ApprovalState
{
    [Id(0)] public string CredentialId { get; set; } = "";
    [Id(1)] public string TaskId { get; set; } = "";
    [Id(2)] public string Agent { get; set; } = "";
    [Id(3)] public string RootPerson { get; set; } = "";
    [Id(4)] public string Action { get; set; } = "";
    [Id(5)] public ResourceRef Resource { get; set; } = new() { Type = "", Path = "" };
    [Id(6)] public long PolicyVersion { get; set; }
    [Id(7)] public List<string> ApprovalPolicies { get; set; } = [];
    [Id(8)] public DateTimeOffset RequestedAt { get; set; }
    [Id(9)] public DateTimeOffset ExpiresAt { get; set; }
    [Id(10)] public ApprovalStatus Status { get; set; }
    [Id(11)] public string? DecidedBy { get; set; }
    [Id(12)] public DateTimeOffset? DecidedAt { get; set; }
    [Id(13)] public string? Note { get; set; }
    [Id(14)] public DateTimeOffset? UsedAt { get; set; }
    [Id(15)] public string? DecidedByIssuer { get; set; }
    [Id(16)] public string? DecidedBySubject { get; set; }
}
