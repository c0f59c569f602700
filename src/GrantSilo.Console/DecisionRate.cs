using System.Diagnostics.Metrics;
using GrantSilo.Grains.Diagnostics;
using Microsoft.Extensions.Hosting;

namespace GrantSilo.WebConsole;

/// <summary>
/// Decisions per second by result over the last two minutes, counted on this silo from GrantSilo's own
/// <c>grantsilo.decisions</c> counter (the numbers the metrics exporter sees), for the overview's chart.
/// </summary>
public sealed class DecisionRate(TimeProvider time) : IHostedService, IDisposable
{
    /// <summary>How many seconds are kept.</summary>
    public const int Seconds = 120;

    private static readonly DecisionKind[] Kinds = Enum.GetValues<DecisionKind>();
    private readonly long[,] _counts = new long[Seconds, Kinds.Length];
    private readonly long[] _second = new long[Seconds];
    private readonly Lock _gate = new();
    private MeterListener? _listener;

    /// <summary>The kinds counted, in column order.</summary>
    public static IReadOnlyList<DecisionKind> Columns => Kinds;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        _listener = new MeterListener
        {
            InstrumentPublished = (instrument, listener) =>
            {
                if (instrument.Meter.Name == GrantSiloMetrics.MeterName && instrument.Name == "grantsilo.decisions")
                {
                    listener.EnableMeasurementEvents(instrument);
                }
            },
        };
        _listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
        {
            foreach (var tag in tags)
            {
                if (tag.Key == "kind" && tag.Value is DecisionKind kind)
                {
                    Add(kind, value);
                    return;
                }
            }
        });
        _listener.Start();
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken)
    {
        _listener?.Dispose();
        return Task.CompletedTask;
    }

    private void Add(DecisionKind kind, long value)
    {
        var now = time.GetUtcNow().ToUnixTimeSeconds();
        var slot = (int)(now % Seconds);
        lock (_gate)
        {
            if (_second[slot] != now)
            {
                _second[slot] = now;
                for (var k = 0; k < Kinds.Length; k++)
                {
                    _counts[slot, k] = 0;
                }
            }
            _counts[slot, Array.IndexOf(Kinds, kind)] += value;
        }
    }

    /// <summary>The last <paramref name="seconds"/> whole seconds, oldest first: per second, a count per kind of <see cref="Columns"/>.</summary>
    public IReadOnlyList<long[]> Last(int seconds) => Window(seconds).Rows;

    /// <summary>As <see cref="Last"/>, with the Unix second the rows end before.</summary>
    public (long EndSecond, IReadOnlyList<long[]> Rows) Window(int seconds)
    {
        seconds = Math.Clamp(seconds, 1, Seconds - 1);
        var now = time.GetUtcNow().ToUnixTimeSeconds();
        var rows = new List<long[]>(seconds);
        lock (_gate)
        {
            for (var s = now - seconds; s < now; s++)
            {
                var slot = (int)(s % Seconds);
                var row = new long[Kinds.Length];
                if (_second[slot] == s)
                {
                    for (var k = 0; k < Kinds.Length; k++)
                    {
                        row[k] = _counts[slot, k];
                    }
                }
                rows.Add(row);
            }
        }
        return (now, rows);
    }

    public void Dispose() => _listener?.Dispose();
}
