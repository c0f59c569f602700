namespace GrantSilo.WebConsole.Pages;

/// <summary>
/// Lineage: for a decision id, or a credential, the chain person → orchestrator → task chain → agent → session →
/// credential → action → resource → decision → policy version, drawn as SVG on the server, each element linking to its
/// own page; below it the lifecycle records the decision rested on. Read through the audit API as the signed-in person
/// (<c>audit.read</c>: operators and auditors).
/// </summary>
public sealed class LineageModel : ConsolePage
{
    /// <summary>How many of a credential's decisions are listed.</summary>
    public const int CredentialDecisions = 50;

    /// <summary>How many of a credential's records are listed when it has made no decision.</summary>
    public const int RelatedShown = 200;

    [Microsoft.AspNetCore.Mvc.BindProperty(SupportsGet = true, Name = "decision")]
    public string? DecisionId { get; set; }

    [Microsoft.AspNetCore.Mvc.BindProperty(SupportsGet = true, Name = "credential")]
    public string? CredentialId { get; set; }

    /// <summary>The record the picture is drawn from: the decision, or the credential's issue when it has made none.</summary>
    public AuditRecord? Record { get; private set; }

    public IReadOnlyList<LineageGraph.Element> Elements { get; private set; } = [];

    /// <summary>The lifecycle records the decision rested on, oldest first.</summary>
    public IReadOnlyList<AuditRecord> Related { get; private set; } = [];

    /// <summary>A credential's decisions, newest first (when looked up by credential).</summary>
    public IReadOnlyList<AuditRecord> Decisions { get; private set; } = [];

    public GrantError? Refusal { get; private set; }

    public async Task OnGetAsync()
    {
        var ct = HttpContext.RequestAborted;
        if (!string.IsNullOrWhiteSpace(DecisionId))
        {
            await DrawDecisionAsync(DecisionId.Trim(), ct);
        }
        else if (!string.IsNullOrWhiteSpace(CredentialId))
        {
            var credential = CredentialId.Trim();
            // Its issue is its first record; its newest decisions are read page by page.
            var first = await Client.QueryAuditAsync(new AuditQuery { CredentialId = credential, Kind = AuditEventKind.CredentialIssued, PageSize = 1 }, ct);
            var decisions = await AuditPages.NewestAsync(Client, new AuditQuery { CredentialId = credential, Kind = AuditEventKind.Decision }, CredentialDecisions, where: null, ct);
            if (!first.IsSuccess || !decisions.IsSuccess)
            {
                Refusal = first.Error ?? decisions.Error;
                return;
            }
            var items = first.Value.Items.Select(e => e.Record).ToList();
            Decisions = decisions.Value.Records;
            if (Decisions.Count > 0)
            {
                await DrawDecisionAsync(Decisions[0].Id, ct);
            }
            else if (items.FirstOrDefault() is { } issued)
            {
                Record = issued;
                Elements = LineageGraph.Of(issued);
                var history = await AuditPages.NewestAsync(Client, new AuditQuery { CredentialId = credential }, RelatedShown, where: null, ct);
                Related = history.IsSuccess ? history.Value.Records.Reverse().ToList() : items;
            }
            else
            {
                Refusal = new GrantError(GrantErrorCode.AuditRecordNotFound, $"The audit log has no record of credential '{credential}'.");
            }
        }
    }

    private async Task DrawDecisionAsync(string decisionId, CancellationToken ct)
    {
        var lineage = await Client.GetAuditLineageAsync(decisionId, ct);
        if (!lineage.IsSuccess)
        {
            Refusal = lineage.Error;
            return;
        }
        Record = lineage.Value.Decision.Record;
        Elements = LineageGraph.Of(Record);
        Related = lineage.Value.Related.Select(e => e.Record).ToList();
    }
}
