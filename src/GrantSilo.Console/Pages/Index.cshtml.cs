using GrantSilo.Grains.Hosting;
using Microsoft.AspNetCore.Mvc;

using GrantSilo.GrainInterfaces;

namespace GrantSilo.WebConsole.Pages;

/// <summary>The overview: this silo's health, decisions per second by result, approvals waiting and pending cascades.</summary>
public sealed class IndexModel(SiloReadiness readiness, ILocalSiloDetails silo, DecisionRate rate) : ConsolePage
{
    /// <summary>The seconds the chart shows.</summary>
    public const int ChartSeconds = 60;

    public string SiloName => silo.Name;

    public string SiloAddress => silo.SiloAddress.ToString();

    public string? NotReady { get; private set; }

    public IReadOnlyList<long[]> Rates { get; private set; } = [];

    public GrantResult<IReadOnlyList<ApprovalInfo>>? Approvals { get; private set; }

    public GrantResult<IReadOnlyList<PendingCascade>>? Cascades { get; private set; }

    public async Task OnGetAsync()
    {
        NotReady = await readiness.CurrentAsync();
        Rates = rate.Last(ChartSeconds);
        Approvals = await Client.ListPendingApprovalsAsync(HttpContext.RequestAborted);
        Cascades = await Client.ListPendingCascadesAsync(HttpContext.RequestAborted);
    }

    /// <summary>Just the chart, for the page to refresh in place.</summary>
    public IActionResult OnGetChart()
    {
        Rates = rate.Last(ChartSeconds);
        return Partial("_DecisionChart", this);
    }
}
