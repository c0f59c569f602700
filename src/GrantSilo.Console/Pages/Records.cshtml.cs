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

    /// <summary>Whether the log held more than the pages read (the newest of those read are shown).</summary>
    public bool Truncated { get; private set; }

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
        };
        Of = string.Join(", ", new[] { ("person", Person), ("caller", caller), ("agent", Agent), ("session", Session), ("credential", CredentialId), ("resource", Resource), ("action", ActionName), ("decision", DecisionId), ("kind", Kind?.ToString()) }
            .Where(f => !string.IsNullOrWhiteSpace(f.Item2)).Select(f => $"{f.Item1} {f.Item2}"));
        if (Of.Length == 0)
        {
            // Everything is a lot: ask for something.
            return;
        }
        // The audit query has no session or action filter: those narrow the agent's or resource's records here.
        var session = Blank(Session);
        var action = Blank(ActionName);
        var newest = await AuditPages.NewestAsync(Client, query, PageSize,
            r => (session is null || r.SessionId == session) && (action is null || r.Action == action), HttpContext.RequestAborted);
        if (!newest.IsSuccess)
        {
            Refusal = newest.Error;
            return;
        }
        (Items, Truncated) = newest.Value;
    }

    private static string? Blank(string? value) => string.IsNullOrWhiteSpace(value) ? null : value.Trim();
}
