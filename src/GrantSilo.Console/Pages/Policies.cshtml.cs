using Microsoft.AspNetCore.Mvc;

namespace GrantSilo.WebConsole.Pages;

/// <summary>
/// Policies: every version, a diff between any two, and a draft published through the policy store, which validates it
/// against the active schema; a refusal is shown inline at the line and column it names.
/// </summary>
public sealed class PoliciesModel : ConsolePage
{
    [BindProperty(SupportsGet = true)]
    public long? From { get; set; }

    [BindProperty(SupportsGet = true)]
    public long? To { get; set; }

    [BindProperty]
    public string? Draft { get; set; }

    public IReadOnlyList<PolicyVersionInfo> Versions { get; private set; } = [];

    public PolicySetVersion? Active { get; private set; }

    public GrantError? Refusal { get; private set; }

    public IReadOnlyList<LineDiff.Line>? Diff { get; private set; }

    public string? DiffProblem { get; private set; }

    /// <summary>Why the draft was refused, with its position when it has one.</summary>
    public GrantError? DraftError { get; private set; }

    /// <summary>What a draft that validated holds (nothing was published).</summary>
    public PolicyDraftCheck? DraftCheck { get; private set; }

    public async Task OnGetAsync() => await LoadAsync();

    public async Task<IActionResult> OnPostValidateAsync()
    {
        var draft = Draft ?? "";
        // The publish's own checks, as the signed-in person, without storing anything; the draft stays on the page.
        var result = await Client.ValidatePolicyAsync(draft, HttpContext.RequestAborted);
        if (result.IsSuccess)
        {
            DraftCheck = result.Value;
            Success = $"The draft validates against schema version {result.Value.SchemaVersion}: {result.Value.PolicyIds.Count} policies. Nothing was published.";
        }
        else
        {
            DraftError = result.Error;
            Fail(result.Error!);
        }
        await LoadAsync();
        Draft = draft;
        return Page();
    }

    public async Task<IActionResult> OnPostPublishAsync()
    {
        var draft = Draft ?? "";
        // Published as the signed-in person (the author GrantSilo records is who they proved to be).
        var result = await Client.PublishPolicyAsync(draft, Caller.Name, HttpContext.RequestAborted);
        if (result.IsSuccess)
        {
            Success = $"Published policy version {result.Value.Version} ({result.Value.PolicyIds.Count} policies); decisions use it now.";
            return RedirectToPage(new { from = result.Value.Version - 1, to = result.Value.Version });
        }
        // Refused: the draft stays on the page, with the problem at its place.
        DraftError = result.Error;
        Fail(result.Error!);
        await LoadAsync();
        Draft = draft;
        return Page();
    }

    private async Task LoadAsync()
    {
        var versions = await Client.ListPolicyVersionsAsync(HttpContext.RequestAborted);
        if (!versions.IsSuccess)
        {
            Refusal = versions.Error;
            return;
        }
        Versions = versions.Value.OrderByDescending(v => v.Version).ToList();
        var active = await Client.GetActivePolicyAsync(HttpContext.RequestAborted);
        if (active.IsSuccess)
        {
            Active = active.Value;
            Draft ??= active.Value.Text;
        }
        if (From is { } from && To is { } to)
        {
            var before = await Client.GetPolicyVersionAsync(from, HttpContext.RequestAborted);
            var after = await Client.GetPolicyVersionAsync(to, HttpContext.RequestAborted);
            if (!before.IsSuccess || !after.IsSuccess)
            {
                DiffProblem = (before.Error ?? after.Error)!.Message;
            }
            else
            {
                Diff = LineDiff.Compute(before.Value.Text, after.Value.Text);
                DiffProblem = Diff is null ? $"The versions are longer than {LineDiff.MaxLines} lines; compare them with grantctl." : null;
            }
        }
    }
}
