using GrantSilo.Grains.Hosting;
using Microsoft.AspNetCore.Mvc;

using GrantSilo.GrainInterfaces;

namespace GrantSilo.WebConsole.Pages;

/// <summary>The overview: this silo's health, the cluster's silos and decisions per second by result, approvals waiting and pending cascades.</summary>
public sealed class IndexModel(SiloReadiness readiness, ILocalSiloDetails silo, IClusterClient cluster, TimeProvider time) : ConsolePage
{
    /// <summary>How far back the recent revocations reach.</summary>
    public static readonly TimeSpan RevocationWindow = TimeSpan.FromHours(24);

    /// <summary>How many recent revocations are listed.</summary>
    public const int RevocationsShown = 10;

    /// <summary>The seconds the chart shows.</summary>
    public const int ChartSeconds = 60;

    public string SiloName => silo.Name;

    public string SiloAddress => silo.SiloAddress.ToString();

    public string? NotReady { get; private set; }

    /// <summary>The cluster's decisions per second by result, summed over its active silos (<c>cluster.manage</c>).</summary>
    public IReadOnlyList<long[]> Rates { get; private set; } = [];

    /// <summary>Each active silo's decisions by result over the chart's minute, by silo address.</summary>
    public IReadOnlyDictionary<string, long[]> SiloRates { get; private set; } = new Dictionary<string, long[]>();

    /// <summary>Why the rates could not be read (the API's refusal), or null.</summary>
    public GrantError? RatesRefused { get; private set; }

    public GrantResult<IReadOnlyList<ApprovalInfo>>? Approvals { get; private set; }

    public GrantResult<IReadOnlyList<PendingCascade>>? Cascades { get; private set; }

    /// <summary>Every silo of the cluster (operators: the door judges the membership read as <c>cluster.manage</c>).</summary>
    public GrantResult<IReadOnlyList<SiloHealth>>? Silos { get; private set; }

    /// <summary>Tasks and credentials revoked in the last <see cref="RevocationWindow"/>, newest first (<c>audit.read</c>).</summary>
    public GrantResult<IReadOnlyList<AuditRecord>>? Revocations { get; private set; }

    public async Task OnGetAsync()
    {
        NotReady = await readiness.CurrentAsync();
        Approvals = await Client.ListPendingApprovalsAsync(HttpContext.RequestAborted);
        Cascades = await Client.ListPendingCascadesAsync(HttpContext.RequestAborted);
        Silos = await ClusterSilos.ReadAsync(cluster, Caller, silo.SiloAddress);
        await ReadRatesAsync();
        Revocations = await RecentRevocationsAsync();
    }

    // Every silo's figures from the cluster's rates grain; only those the membership table says are active count.
    private async Task ReadRatesAsync()
    {
        var reports = await ClusterSilos.ReadRatesAsync(cluster, Caller, HttpContext.RequestAborted);
        if (!reports.IsSuccess)
        {
            RatesRefused = reports.Error;
            return;
        }
        var rates = ClusterDecisionRates.Sum(reports.Value, Silos is { IsSuccess: true } silos ? silos.Value : null, time.GetUtcNow(), ChartSeconds);
        Rates = rates.Rows;
        SiloRates = rates.PerSilo;
    }

    private async Task<GrantResult<IReadOnlyList<AuditRecord>>> RecentRevocationsAsync()
    {
        var from = time.GetUtcNow() - RevocationWindow;
        var found = new List<AuditRecord>();
        foreach (var kind in new[] { AuditEventKind.TaskRevoked, AuditEventKind.CredentialRevoked })
        {
            var newest = await AuditPages.NewestAsync(Client, new AuditQuery { Kind = kind, From = from }, RevocationsShown, where: null, HttpContext.RequestAborted);
            if (!newest.IsSuccess)
            {
                return newest.Error!;
            }
            found.AddRange(newest.Value.Records);
        }
        return found.OrderByDescending(r => r.At).Take(RevocationsShown).ToList();
    }

    /// <summary>Just the chart, for the page to refresh in place.</summary>
    public async Task<IActionResult> OnGetChartAsync()
    {
        Silos = await ClusterSilos.ReadAsync(cluster, Caller, silo.SiloAddress);
        await ReadRatesAsync();
        return Partial("_DecisionChart", this);
    }
}
