using Microsoft.AspNetCore.Mvc;

namespace GrantSilo.WebConsole.Pages;

/// <summary>Agents: register one, look one up (ceiling, live tasks and sessions), suspend and resume it.</summary>
public sealed class AgentsModel : ConsolePage
{
    [BindProperty(SupportsGet = true, Name = "id")]
    public string? WorkloadId { get; set; }

    public AgentInfo? Agent { get; private set; }

    public GrantError? Refusal { get; private set; }

    public GrantResult<Page<TaskInfo>>? Tasks { get; private set; }

    public GrantResult<Page<SessionInfo>>? Sessions { get; private set; }

    public async Task OnGetAsync()
    {
        if (string.IsNullOrWhiteSpace(WorkloadId))
        {
            return;
        }
        var agent = await Client.GetAgentAsync(WorkloadId.Trim(), HttpContext.RequestAborted);
        if (!agent.IsSuccess)
        {
            Refusal = agent.Error;
            return;
        }
        Agent = agent.Value;
        Tasks = await Client.ListAgentTasksAsync(Agent.WorkloadId, pageSize: 50, cancellationToken: HttpContext.RequestAborted);
        Sessions = await Client.ListAgentSessionsAsync(Agent.WorkloadId, pageSize: 50, cancellationToken: HttpContext.RequestAborted);
    }

    public async Task<IActionResult> OnPostRegisterAsync(string? workloadId, string? owner, string? permissions, DataClassification classification, int depth)
    {
        var lines = (permissions ?? "").Split(['\n', ' ', ','], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var ceiling = Scope.Create(lines, classification, depth);
        if (!ceiling.IsSuccess)
        {
            Fail(ceiling.Error!);
            return RedirectToPage();
        }
        if (string.IsNullOrWhiteSpace(workloadId) || string.IsNullOrWhiteSpace(owner))
        {
            Fail("InvalidArgument", "An agent needs a workload id (its SPIFFE ID) and an owner (person:...).");
            return RedirectToPage();
        }
        var result = await Client.RegisterAgentAsync(workloadId.Trim(), new AgentRegistration { Owner = owner.Trim(), Ceiling = ceiling.Value }, HttpContext.RequestAborted);
        return Report(result, a => $"Registered {a.WorkloadId} with a ceiling of {a.Ceiling.Permissions.Length} permission(s).")
            ? RedirectToPage(new { id = workloadId.Trim() })
            : RedirectToPage();
    }

    public async Task<IActionResult> OnPostSuspendAsync(string? reason) => await ChangeAsync(reason, suspend: true);

    public async Task<IActionResult> OnPostResumeAsync(string? reason) => await ChangeAsync(reason, suspend: false);

    private async Task<IActionResult> ChangeAsync(string? reason, bool suspend)
    {
        if (string.IsNullOrWhiteSpace(WorkloadId) || string.IsNullOrWhiteSpace(reason))
        {
            Fail("InvalidArgument", "Give a reason: it is recorded.");
            return RedirectToPage(new { id = WorkloadId });
        }
        var result = suspend
            ? await Client.SuspendAgentAsync(WorkloadId, reason.Trim(), HttpContext.RequestAborted)
            : await Client.ResumeAgentAsync(WorkloadId, reason.Trim(), HttpContext.RequestAborted);
        Report(result, a => $"{a.WorkloadId} is {a.Status}.");
        return RedirectToPage(new { id = WorkloadId });
    }
}
