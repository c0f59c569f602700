using GrantSilo.Grains.Hosting;
using Microsoft.AspNetCore.Mvc;

using GrantSilo.GrainInterfaces;

namespace GrantSilo.WebConsole.Pages;

/// <summary>The overview: this silo's health, decisions per second by result, approvals waiting and pending cascades.</summary>
public sealed class IndexModel(SiloReadiness readiness, ILocalSiloDetails silo, DecisionRate rate, IClusterClient cluster, TimeProvider time) : ConsolePage
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

    public IReadOnlyList<long[]> Rates { get; private set; } = [];

    public GrantResult<IReadOnlyList<ApprovalInfo>>? Approvals { get; private set; }

    public GrantResult<IReadOnlyList<PendingCascade>>? Cascades { get; private set; }

    /// <summary>Every silo of the cluster (operators: the door judges the membership read as <c>cluster.manage</c>).</summary>
    public GrantResult<IReadOnlyList<SiloHealth>>? Silos { get; private set; }

    /// <summary>Tasks and credentials revoked in the last <see cref="RevocationWindow"/>, newest first (<c>audit.read</c>).</summary>
    public GrantResult<IReadOnlyList<AuditRecord>>? Revocations { get; private set; }

    public async Task OnGetAsync()
    {
        NotReady = await readiness.CurrentAsync();
        Rates = rate.Last(ChartSeconds);
        Approvals = await Client.ListPendingApprovalsAsync(HttpContext.RequestAborted);
        Cascades = await Client.ListPendingCascadesAsync(HttpContext.RequestAborted);
        Silos = await ClusterSilos.ReadAsync(cluster, Caller, silo.SiloAddress);
        Revocations = await RecentRevocationsAsync();
    }

    private async Task<GrantResult<IReadOnlyList<AuditRecord>>> RecentRevocationsAsync()
    {
        var from = time.GetUtcNow() - RevocationWindow;
        var found = new List<AuditRecord>();
        foreach (var kind in new[] { AuditEventKind.TaskRevoked, AuditEventKind.CredentialRevoked })
        {
            // Oldest first, a page at a time: follow the pages to the newest (the window bounds how many there are).
            string? next = null;
            var kept = new List<AuditRecord>();
            do
            {
                var page = await Client.QueryAuditAsync(new AuditQuery { Kind = kind, From = from, PageSize = 1000, ContinuationToken = next }, HttpContext.RequestAborted);
                if (!page.IsSuccess)
                {
                    return page.Error!;
                }
                kept.AddRange(page.Value.Items.Select(e => e.Record));
                if (kept.Count > RevocationsShown)
                {
                    kept.RemoveRange(0, kept.Count - RevocationsShown);
                }
                // The last page also carries a token (where to follow from): a short page is the last.
                next = page.Value.Items.Count < 1000 ? null : page.Value.ContinuationToken;
            }
            while (next is not null);
            found.AddRange(kept);
        }
        return found.OrderByDescending(r => r.At).Take(RevocationsShown).ToList();
    }

    /// <summary>Just the chart, for the page to refresh in place.</summary>
    public IActionResult OnGetChart()
    {
        Rates = rate.Last(ChartSeconds);
        return Partial("_DecisionChart", this);
    }
}
