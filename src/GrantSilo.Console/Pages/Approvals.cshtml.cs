using Microsoft.AspNetCore.Mvc;

namespace GrantSilo.WebConsole.Pages;

/// <summary>The approvals inbox: step-ups arrive live; a person decides each with a reason, as the API's rules allow.</summary>
public sealed class ApprovalsModel : ConsolePage
{
    /// <summary>Why this person may not watch approvals, if they may not (the API's refusal).</summary>
    public GrantError? Refusal { get; private set; }

    /// <summary>Whether to offer approve and deny: the approver role (the API still decides each one).</summary>
    public bool MayDecide => Caller.Has("approver");

    public async Task OnGetAsync()
    {
        var pending = await Client.ListPendingApprovalsAsync(HttpContext.RequestAborted);
        if (!pending.IsSuccess)
        {
            Refusal = pending.Error;
        }
    }

    public async Task<IActionResult> OnPostDecideAsync(string? approvalId, string? decision, string? reason)
    {
        if (string.IsNullOrWhiteSpace(approvalId) || decision is not ("approve" or "deny"))
        {
            Fail("InvalidArgument", "Choose an approval, and approve or deny it.");
            return RedirectToPage();
        }
        var note = string.IsNullOrWhiteSpace(reason) ? null : reason.Trim();
        // Decided as the signed-in person: the same call, and the same rules, as POST /v1/approvals/{id}/approve|deny.
        var result = decision == "approve"
            ? await Client.ApproveAsync(approvalId, Caller.Name, note, HttpContext.RequestAborted)
            : await Client.DenyApprovalAsync(approvalId, Caller.Name, note, HttpContext.RequestAborted);
        Report(result, a => $"{(a.Status == ApprovalStatus.Approved ? "Approved" : "Denied")} {a.Action} on {a.Resource.Type}:{a.Resource.Path} (approval {a.ApprovalId}).");
        return RedirectToPage();
    }
}
