using Microsoft.AspNetCore.Mvc;

namespace GrantSilo.WebConsole.Pages;

/// <summary>A task tree, live: state, expiry, checkpoint and credentials per node; revoke with a confirmation; re-authorize.</summary>
public sealed class TasksModel : ConsolePage
{
    [BindProperty(SupportsGet = true, Name = "id")]
    public string? TaskId { get; set; }

    /// <summary>The node whose revocation awaits confirmation.</summary>
    [BindProperty(SupportsGet = true, Name = "revoke")]
    public string? RevokeId { get; set; }

    public TaskTreeNode? Tree { get; private set; }

    public GrantError? Refusal { get; private set; }

    /// <summary>Credentials per node (the first page of each), or why they could not be read.</summary>
    public Dictionary<string, GrantResult<Page<CredentialInfo>>> Credentials { get; } = new(StringComparer.Ordinal);

    /// <summary>The node to confirm, and how many of its descendants are still live (they end with it).</summary>
    public (TaskTreeNode Node, int LiveDescendants)? Confirm { get; private set; }

    public async Task OnGetAsync()
    {
        if (string.IsNullOrWhiteSpace(TaskId))
        {
            return;
        }
        var tree = await Client.GetTaskTreeAsync(TaskId.Trim(), HttpContext.RequestAborted);
        if (!tree.IsSuccess)
        {
            Refusal = tree.Error;
            return;
        }
        Tree = tree.Value;
        foreach (var node in Tree.DescendantsAndSelf())
        {
            Credentials[node.Task.TaskId] = await Client.ListTaskCredentialsAsync(node.Task.TaskId, pageSize: 20, cancellationToken: HttpContext.RequestAborted);
        }
        if (RevokeId is not null && Tree.DescendantsAndSelf().FirstOrDefault(n => n.Task.TaskId == RevokeId) is { } target)
        {
            Confirm = (target, target.DescendantsAndSelf().Skip(1).Count(n => !n.Task.IsTerminal));
        }
    }

    public async Task<IActionResult> OnPostRevokeAsync(string? taskId, string? reason, int descendants)
    {
        if (string.IsNullOrWhiteSpace(taskId) || string.IsNullOrWhiteSpace(reason))
        {
            Fail("InvalidArgument", "Give a reason to revoke a task: it is recorded.");
            return RedirectToPage(new { id = TaskId, revoke = taskId });
        }
        var result = await Client.RevokeTaskAsync(taskId, reason.Trim(), HttpContext.RequestAborted);
        Report(result, t => $"Revoked task {t.TaskId}; the cascade ends its {descendants} live descendant task(s), their sessions' credentials for them, and is shown below as it goes.");
        return RedirectToPage(new { id = TaskId ?? taskId });
    }

    public async Task<IActionResult> OnPostReauthorizeAsync(string? taskId)
    {
        if (string.IsNullOrWhiteSpace(taskId))
        {
            Fail("InvalidArgument", "Choose a task to re-authorize.");
            return RedirectToPage(new { id = TaskId });
        }
        var result = await Client.ReauthorizeTaskAsync(taskId, HttpContext.RequestAborted);
        Report(result, t => $"Re-authorized task {t.TaskId} against policy version {t.PolicyVersionChecked}; it is {t.Status} until {t.CheckpointDueAt:u}.");
        return RedirectToPage(new { id = TaskId ?? taskId });
    }
}
