using Microsoft.AspNetCore.Mvc;

namespace GrantSilo.WebConsole.Pages;

/// <summary>
/// Audit records: the page of each lineage element (a person's, orchestrator's, session's, credential's, resource's or
/// decision's records), read through the audit API as the signed-in person (<c>audit.read</c>).
/// </summary>
public sealed class RecordsModel : ConsolePage
{
    /// <summary>The most records shown at once.</summary>
    public const int PageSize = 200;

    [BindProperty(SupportsGet = true)] public string? Person { get; set; }
    [BindProperty(SupportsGet = true)] public string? Agent { get; set; }
    [BindProperty(SupportsGet = true)] public string? Session { get; set; }
    [BindProperty(SupportsGet = true)] public string? CredentialId { get; set; }
    [BindProperty(SupportsGet = true)] public string? Resource { get; set; }
    [BindProperty(SupportsGet = true, Name = "action")] public string? ActionName { get; set; }
    [BindProperty(SupportsGet = true)] public string? DecisionId { get; set; }
    [BindProperty(SupportsGet = true)] public AuditEventKind? Kind { get; set; }

    public IReadOnlyList<AuditRecord> Items { get; private set; } = [];

    public GrantError? Refusal { get; private set; }

    /// <summary>What the records are of, for the heading.</summary>
    public string Of { get; private set; } = "";

    // "caller" is a query parameter, not a property: the page's Caller is the signed-in person.
    public async Task OnGetAsync([FromQuery(Name = "caller")] string? caller)
    {
        var query = new AuditQuery
        {
            Person = Blank(Person),
            Caller = Blank(caller),
            Agent = Blank(Agent),
            CredentialId = Blank(CredentialId),
            Resource = Blank(Resource),
            DecisionId = Blank(DecisionId),
            Kind = Kind,
            PageSize = 1000,
        };
        Of = string.Join(", ", new[] { ("person", Person), ("caller", caller), ("agent", Agent), ("session", Session), ("credential", CredentialId), ("resource", Resource), ("action", ActionName), ("decision", DecisionId), ("kind", Kind?.ToString()) }
            .Where(f => !string.IsNullOrWhiteSpace(f.Item2)).Select(f => $"{f.Item1} {f.Item2}"));
        if (Of.Length == 0)
        {
            // Everything is a lot: ask for something.
            return;
        }
        var page = await Client.QueryAuditAsync(query, HttpContext.RequestAborted);
        if (!page.IsSuccess)
        {
            Refusal = page.Error;
            return;
        }
        // The audit query has no session or action filter: those narrow the agent's or resource's records here.
        Items = page.Value.Items.Select(e => e.Record)
            .Where(r => Blank(Session) is not { } session || r.SessionId == session)
            .Where(r => Blank(ActionName) is not { } action || r.Action == action)
            .Reverse()
            .Take(PageSize)
            .ToList();
    }

    private static string? Blank(string? value) => string.IsNullOrWhiteSpace(value) ? null : value.Trim();
}
