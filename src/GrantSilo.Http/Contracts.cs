namespace GrantSilo.Http;

/// <summary>Registers an agent: <c>POST /v1/agents</c>.</summary>
public sealed record RegisterAgentBody
{
    /// <summary>The agent's workload id (its SPIFFE ID).</summary>
    public required string WorkloadId { get; init; }

    /// <summary>The person accountable for the agent.</summary>
    public required string Owner { get; init; }

    /// <summary>The most the agent may ever be granted.</summary>
    public required Scope Ceiling { get; init; }

    public string? DisplayName { get; init; }

    public IReadOnlyDictionary<string, string>? Attributes { get; init; }

    public IReadOnlyList<string>? Groups { get; init; }
}

/// <summary>An end or a change of state, with its reason (recorded and shown; never an input to a decision).</summary>
public sealed record ReasonBody
{
    public required string Reason { get; init; }
}

/// <summary>Completes a task.</summary>
public sealed record CompleteBody
{
    public string? Summary { get; init; }
}

/// <summary>Approves a step-up; the approver is the authenticated caller.</summary>
public sealed record ApproveBody
{
    public string? Comment { get; init; }
}

/// <summary>Denies a step-up; the approver is the authenticated caller.</summary>
public sealed record DenyBody
{
    public string? Reason { get; init; }
}

/// <summary>A text to publish (a policy set, a schema, a resource catalog, access rules); the author is the authenticated caller.</summary>
public sealed record TextBody
{
    public required string Text { get; init; }
}

/// <summary>A GrantSilo credential token to introspect.</summary>
public sealed record IntrospectBody
{
    public required string Token { get; init; }

    public override string ToString() => "IntrospectBody { Token = **** }";
}

/// <summary>A decision request: may the holder of <see cref="Token"/> do <see cref="Action"/> on <see cref="Resource"/> now.</summary>
public sealed record AuthorizeBody
{
    /// <summary>The agent's GrantSilo credential token.</summary>
    public required string Token { get; init; }

    public required string Action { get; init; }

    public required ResourceRef Resource { get; init; }

    /// <summary>An approved step-up for exactly this credential, action and resource (single use).</summary>
    public string? ApprovalId { get; init; }

    public override string ToString() => $"AuthorizeBody {{ Token = ****, Action = {Action}, Resource = {Resource} }}";
}
