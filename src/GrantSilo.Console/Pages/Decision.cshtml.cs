using Microsoft.AspNetCore.Mvc;

namespace GrantSilo.WebConsole.Pages;

/// <summary>
/// A decision's own page: its audit record in full (result, reason, determining policies, policy version, caller, time,
/// silo) and its place in the hash chain, read through the audit API as the signed-in person (<c>audit.read</c>).
/// </summary>
public sealed class DecisionModel : ConsolePage
{
    [BindProperty(SupportsGet = true)] public string? Id { get; set; }

    /// <summary>The decision as stored: its stream, sequence and hashes, and its record.</summary>
    public AuditEntry? Entry { get; private set; }

    public GrantError? Refusal { get; private set; }

    public async Task OnGetAsync()
    {
        if (string.IsNullOrWhiteSpace(Id))
        {
            return;
        }
        var lineage = await Client.GetAuditLineageAsync(Id.Trim(), HttpContext.RequestAborted);
        if (!lineage.IsSuccess)
        {
            Refusal = lineage.Error;
            return;
        }
        Entry = lineage.Value.Decision;
    }
}
