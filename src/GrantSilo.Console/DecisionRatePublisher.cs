using GrantSilo.GrainInterfaces;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Orleans.Runtime;

namespace GrantSilo.WebConsole;

/// <summary>
/// Sends this silo's last minute of decisions per second (<see cref="DecisionRate"/>) to the cluster's
/// <see cref="IDecisionRatesGrain"/> once a second, so the overview served by any silo charts the whole cluster. It
/// runs beside the decision path, never on it: a decision only adds to an in-memory count, as before.
/// </summary>
public sealed partial class DecisionRatePublisher(DecisionRate rate, IGrainFactory grains, ILocalSiloDetails silo, TimeProvider time, ILogger<DecisionRatePublisher> logger) : BackgroundService
{
    /// <summary>How often the counts are sent.</summary>
    public static readonly TimeSpan Period = TimeSpan.FromSeconds(1);

    /// <summary>How many seconds each report covers.</summary>
    public const int ReportedSeconds = 60;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(Period, time);
        var failing = false;
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                try
                {
                    await grains.GetGrain<IDecisionRatesGrain>(0).ReportAsync(Report());
                    failing = false;
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    // The silo may still be joining or already leaving; the next tick tries again. Said once per outage.
                    if (!failing)
                    {
                        LogReportFailed(logger, e);
                        failing = true;
                    }
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // The host is stopping.
        }
    }

    /// <summary>This silo's report as it would be sent now.</summary>
    public SiloDecisionRates Report()
    {
        var (end, rows) = rate.Window(ReportedSeconds);
        var counts = new long[rows.Count * DecisionRate.Columns.Count];
        for (var i = 0; i < rows.Count; i++)
        {
            rows[i].CopyTo(counts, i * DecisionRate.Columns.Count);
        }
        return new SiloDecisionRates
        {
            Silo = silo.SiloAddress.ToString(),
            SiloName = silo.Name,
            EndSecond = end,
            Kinds = [.. DecisionRate.Columns],
            Counts = counts,
        };
    }

    [LoggerMessage(EventId = 4302, Level = LogLevel.Information, Message = "Could not report this silo's decision rates to the cluster; retrying every second.")]
    private static partial void LogReportFailed(ILogger logger, Exception exception);
}
