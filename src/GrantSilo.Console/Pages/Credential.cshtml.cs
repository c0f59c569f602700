using Microsoft.AspNetCore.Mvc;

namespace GrantSilo.WebConsole.Pages;

/// <summary>
/// A credential's own page: its status, issue and expiry, scope, task, session and agent (<c>credential.read</c>), and
/// the decisions made with it (<c>audit.read</c>), each read as the signed-in person.
/// </summary>
public sealed class CredentialModel : ConsolePage
{
    /// <summary>How many of its decisions are listed.</summary>
    public const int DecisionsShown = 50;

    [BindProperty(SupportsGet = true)] public string? Id { get; set; }

    public CredentialInfo? Credential { get; private set; }

    public GrantError? Refusal { get; private set; }

    /// <summary>Its decisions, newest first, or the API's refusal to list them.</summary>
    public GrantResult<IReadOnlyList<AuditRecord>>? Decisions { get; private set; }

    public async Task OnGetAsync()
    {
        if (string.IsNullOrWhiteSpace(Id))
        {
            return;
        }
        var id = Id.Trim();
        var credential = await Client.GetCredentialAsync(id, HttpContext.RequestAborted);
        if (!credential.IsSuccess)
        {
            Refusal = credential.Error;
            return;
        }
        Credential = credential.Value;
        var decisions = await AuditPages.NewestAsync(Client, new AuditQuery { CredentialId = id, Kind = AuditEventKind.Decision }, DecisionsShown, where: null, HttpContext.RequestAborted);
        Decisions = decisions.IsSuccess ? GrantResult<IReadOnlyList<AuditRecord>>.Ok(decisions.Value.Records) : decisions.Error!;
    }
}
