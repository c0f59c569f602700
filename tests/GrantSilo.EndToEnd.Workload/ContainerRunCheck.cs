using System.Globalization;
using GrantSilo.EndToEnd.Tests.Support;

namespace GrantSilo.EndToEnd.Workload;

/// <summary>
/// <c>check HISTORY PHASES [DEADLINE]</c>: the container test's verdict on a finished run (scripts/container-test.sh).
/// PHASES has one line per operator action, <c>name start-unix-ms end-unix-ms</c> (scale-out, upgrade-silo1, ...,
/// kill, scale-in). Fails (exit 1) on: an Allow after an acknowledged revocation or after expiry; a call that hit or
/// passed the deadline; a phase, or the time after the last, in which no Allow was served; a revocation acknowledged
/// during the rolling upgrade that the final sweep did not ask about again, or that was allowed then. Prints the error
/// rate and the longest gap without a successful answer.
/// </summary>
internal static class ContainerRunCheck
{
    public static int Run(string[] args)
    {
        if (args.Length < 2)
        {
            Console.Error.WriteLine("usage: check HISTORY PHASES [DEADLINE]");
            return 2;
        }
        var history = HistoryChecker.Load(args[0]);
        var phases = File.ReadLines(args[1]).Where(l => l.Trim().Length > 0).Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            .Select(p => (Name: p[0], Start: Ticks(p[1]), End: Ticks(p[2]))).ToList();
        var deadline = args.Length > 2 ? TimeSpan.Parse(args[2], CultureInfo.InvariantCulture) : TimeSpan.FromSeconds(30);
        var failures = new List<string>();

        var run = history.Records.Where(r => r.Final != true).OrderBy(r => r.Start).ToList();
        var final = history.Records.Where(r => r.Final == true).ToList();
        if (run.Count == 0)
        {
            Console.WriteLine("CHECK the history is empty");
            return 1;
        }
        var errors = run.Count(r => r.Result is "error" or "timeout");
        var authorizations = run.Where(r => r.Op == "authorize").ToList();
        var slowest = history.Records.Max(r => TimeSpan.FromTicks(r.End - r.Start));
        Console.WriteLine($"CHECK {run.Count} calls in {TimeSpan.FromTicks(run[^1].End - run[0].Start).TotalSeconds:0} s, {authorizations.Count(a => a.Result == "Allow")} allows, {authorizations.Count(a => a.Result == "Deny")} denies, " +
            $"{run.Count(r => r.Op.StartsWith("revoke", StringComparison.Ordinal) && r.Result == "ok")} acknowledged revocations; error rate {100.0 * errors / run.Count:0.00}% ({errors}); slowest call {slowest.TotalMilliseconds:0} ms");
        foreach (var group in run.Where(r => r.Result is "error" or "timeout").GroupBy(r => $"{r.Op} {r.Result}: {r.Detail}").OrderByDescending(g => g.Count()).Take(5))
        {
            Console.WriteLine($"CHECK   {group.Count()} x {group.Key}");
        }

        // The longest time without a successful answer (ok, Allow or Deny), and when it was.
        var answered = run.Where(r => r.Result is "ok" or "Allow" or "Deny").Select(r => r.End).Order().ToList();
        var (gap, gapEnd) = (0L, 0L);
        for (var i = 1; i < answered.Count; i++)
        {
            if (answered[i] - answered[i - 1] > gap)
            {
                (gap, gapEnd) = (answered[i] - answered[i - 1], answered[i]);
            }
        }
        var during = phases.Where(p => gapEnd - gap <= p.End && gapEnd >= p.Start).Select(p => p.Name).DefaultIfEmpty("no operator action").First();
        Console.WriteLine($"CHECK longest gap without a successful answer: {TimeSpan.FromTicks(gap).TotalMilliseconds:0} ms (during {during})");

        // Through the HTTP API: which silo answered what (by its HTTP port), and in each operator action.
        var viaHttp = run.Where(r => r.Via is not null).ToList();
        if (viaHttp.Count > 0)
        {
            Console.WriteLine($"CHECK through the HTTP API: {viaHttp.Count} answers ({viaHttp.Count(r => r.Op == "authorize")} authorizations, {viaHttp.Count(r => r.Op.StartsWith("revoke", StringComparison.Ordinal))} revocations); per silo port: " +
                string.Join(", ", viaHttp.GroupBy(r => r.Via).OrderBy(g => g.Key, StringComparer.Ordinal).Select(g => $"{g.Key} {g.Count()}")));
            if (viaHttp.Select(r => r.Via).Distinct().Count() < 2)
            {
                failures.Add("The HTTP requests were not spread across the silos (one silo answered them all).");
            }
        }

        var violations = history.Violations();
        foreach (var v in violations.Take(20))
        {
            failures.Add($"Allow for {v.Authorize.Credential} at {new DateTime(v.Authorize.Start, DateTimeKind.Utc):HH:mm:ss.fff}{(v.Authorize.Final == true ? " (final sweep)" : "")}: {v.Why}");
        }
        foreach (var r in history.Records.Where(r => r.Result == "timeout" || TimeSpan.FromTicks(r.End - r.Start) >= deadline).Take(10))
        {
            failures.Add($"{r.Op} started {new DateTime(r.Start, DateTimeKind.Utc):HH:mm:ss.fff} took {TimeSpan.FromTicks(r.End - r.Start).TotalMilliseconds:0} ms (deadline {deadline.TotalSeconds:0} s)");
        }
        if (!authorizations.Any(a => a.Reason is "CredentialRevoked" or "TaskRevoked"))
        {
            failures.Add("No authorization was denied for a revocation: revocation was not exercised.");
        }
        // An expired credential is CredentialExpired, whether the grain or the HTTP door (from the token's exp) says so.
        if (!authorizations.Any(a => a.Reason == "CredentialExpired"))
        {
            failures.Add("No authorization was denied for expiry: expiry was not exercised.");
        }

        // Served through every operator action, and after the last.
        var windows = phases.Select(p => (p.Name, p.Start, p.End)).Append(("after", phases.Count > 0 ? phases.Max(p => p.End) : run[0].Start, long.MaxValue));
        foreach (var (name, start, end) in windows)
        {
            var inWindow = authorizations.Where(a => a.Start >= start && a.Start <= end).ToList();
            var allows = inWindow.Count(a => a.Result == "Allow");
            var failed = inWindow.Count(a => a.Result is "error" or "timeout");
            Console.WriteLine($"CHECK phase {name}: {(end == long.MaxValue ? "" : $"{TimeSpan.FromTicks(end - start).TotalSeconds:0.0} s, ")}{inWindow.Count} authorizations, {allows} allows, {failed} errors");
            if (allows == 0)
            {
                failures.Add($"No Allow was served during {name}.");
            }
        }

        // Revocations acknowledged during the rolling upgrade hold afterwards: the final sweep asked again, and was denied.
        var upgrade = phases.Where(p => p.Name.StartsWith("upgrade", StringComparison.Ordinal)).ToList();
        if (upgrade.Count == 0)
        {
            failures.Add("The phases name no rolling upgrade (upgrade-*).");
        }
        else
        {
            var (from, to) = (upgrade.Min(p => p.Start), upgrade.Max(p => p.End));
            var revokedCredentials = run.Where(r => r.Op == "revoke-credential" && r.Result == "ok" && r.End >= from && r.End <= to).Select(r => r.Credential!).ToHashSet();
            var revokedTasks = run.Where(r => r.Op == "revoke-task" && r.Result == "ok" && r.End >= from && r.End <= to).Select(r => r.Task!).ToHashSet();
            var ended = run.Where(r => r.Op == "issue" && r.Result == "ok" && (revokedCredentials.Contains(r.Credential!) || (r.Chain ?? []).Any(revokedTasks.Contains)))
                .Select(r => r.Credential!).ToHashSet();
            var asked = final.Where(f => ended.Contains(f.Credential!)).ToList();
            Console.WriteLine($"CHECK revocations acknowledged during the upgrade: {revokedCredentials.Count} credentials, {revokedTasks.Count} tasks, ending {ended.Count} credentials; " +
                $"final sweep asked about {asked.Count}: {asked.Count(a => a.Result == "Deny")} denied, {asked.Count(a => a.Result == "Allow")} allowed, {asked.Count(a => a.Result is "error" or "timeout")} errors");
            if (ended.Count == 0)
            {
                failures.Add("No revocation was acknowledged during the rolling upgrade.");
            }
            if (asked.Count < ended.Count || asked.Any(a => a.Result != "Deny"))
            {
                failures.Add($"Of {ended.Count} credentials ended during the upgrade, the final sweep got {asked.Count(a => a.Result == "Deny")} denials.");
            }
        }

        foreach (var failure in failures)
        {
            Console.WriteLine($"CHECK FAILED {failure}");
        }
        Console.WriteLine(failures.Count == 0 ? "CHECK PASSED" : $"CHECK FAILED ({failures.Count})");
        return failures.Count == 0 ? 0 : 1;
    }

    private static long Ticks(string unixMilliseconds) =>
        DateTime.UnixEpoch.Ticks + long.Parse(unixMilliseconds, CultureInfo.InvariantCulture) * TimeSpan.TicksPerMillisecond;
}
