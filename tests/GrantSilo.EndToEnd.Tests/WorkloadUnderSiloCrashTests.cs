using GrantSilo.EndToEnd.Tests.Support;
using Xunit.Abstractions;

namespace GrantSilo.EndToEnd.Tests;

/// <summary>
/// Three silo-host processes and a workload client process on loopback against one Azurite; one silo
/// is hard-killed (SIGKILL) in the middle of delegations, authorizations and revocations.
/// </summary>
public sealed class WorkloadUnderSiloCrashTests(ITestOutputHelper output)
{
    private static readonly TimeSpan CallDeadline = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task SigkillOfASilo_MidWorkload_NeverAllowsAfterRevocationOrExpiry_AndNoRequestHangs()
    {
        await using var cluster = await ProcessCluster.StartAsync(3, output);
        var historyPath = Path.Combine(Path.GetTempPath(), $"grantsilo-e2e-{Guid.NewGuid():N}.jsonl");
        var environment = new Dictionary<string, string>(MultiSiloSettings.Client(cluster.Azurite.ConnectionString))
        {
            ["Workload__HistoryPath"] = historyPath,
            ["Workload__Duration"] = "00:00:35",
            ["Workload__Concurrency"] = "4",
            ["Workload__CallDeadline"] = "00:00:30",
            // The workload mints its callers' tokens with the test issuers' key (never passed as a token on the command line).
            ["Workload__IdentityKeyFile"] = TestIdentity.Shared.KeyFile,
        };
        await using var workload = ChildProcess.Start("workload", ChildProcess.BuiltDll("WorkloadDll"), environment);
        try
        {
            await workload.WaitForOutputAsync("WORKLOAD STARTED", TimeSpan.FromSeconds(60));
            // Let it run for a while on three silos, then kill one without warning.
            await Eventually.HoldsAsync(() => Task.FromResult(File.Exists(historyPath) && File.ReadLines(historyPath).Count(l => l.Contains("\"Allow\"", StringComparison.Ordinal)) >= 100),
                TimeSpan.FromSeconds(60), "100 allows before the kill");
            var victim = cluster.Silos[1];
            var killedAt = DateTime.UtcNow.Ticks;
            victim.Process.Kill();
            cluster.Log($"SIGKILL {victim.Name}");
            await cluster.WaitForStatusAsync(victim, SiloStatus.Dead, TimeSpan.FromSeconds(60));
            var deadAt = DateTime.UtcNow.Ticks;
            cluster.Log($"{victim.Name} declared dead");

            Assert.True(await workload.WaitForExitAsync(TimeSpan.FromSeconds(120)), $"The workload did not finish. Output:\n{workload.Output}");
            Assert.Equal(0, workload.ExitCode);

            var history = HistoryChecker.Load(historyPath);
            var violations = history.Violations();
            var authorizations = history.Authorizations.ToList();
            var slowest = history.Records.Max(r => TimeSpan.FromTicks(r.End - r.Start));
            output.WriteLine($"{history.Records.Count} invocations, {authorizations.Count(a => a.Result == "Allow")} allows, {authorizations.Count(a => a.Result == "Deny")} denies, " +
                $"{history.Records.Count(r => r.Op.StartsWith("revoke", StringComparison.Ordinal) && r.Result == "ok")} acknowledged revocations, slowest call {slowest.TotalMilliseconds:0} ms");
            foreach (var group in authorizations.Where(a => a.Result == "Deny").GroupBy(a => a.Reason))
            {
                output.WriteLine($"  deny {group.Key}: {group.Count()}");
            }
            foreach (var error in history.Records.Where(r => r.Result is "error" or "timeout").GroupBy(r => $"{r.Op}: {r.Detail}").OrderByDescending(g => g.Count()).Take(5))
            {
                output.WriteLine($"  {error.Count()} x {error.Key}");
            }
            foreach (var second in history.Records.GroupBy(r => (r.Start - killedAt) / TimeSpan.TicksPerSecond / 2 * 2).OrderBy(g => g.Key))
            {
                output.WriteLine($"  t{(second.Key >= 0 ? "+" : "")}{second.Key}s: {second.Count()} calls, {second.Count(r => r.Result == "Allow")} allows, {second.Count(r => r.Result is "error" or "timeout")} errors, slowest {second.Max(r => (r.End - r.Start) / TimeSpan.TicksPerMillisecond)} ms");
            }

            Assert.True(violations.Count == 0, "Allowed after revocation or expiry:\n" + string.Join("\n", violations.Take(20).Select(v => $"{v.Authorize.Credential} at {new DateTime(v.Authorize.Start, DateTimeKind.Utc):HH:mm:ss.fff}: {v.Why}")));
            Assert.DoesNotContain(history.Records, r => r.Result == "timeout");
            // Every request is within scope: a scope-denial would mean state reloaded wrongly after the crash.
            Assert.DoesNotContain(authorizations, a => a.Reason == "ScopeDoesNotCover");
            Assert.True(slowest < CallDeadline, $"A call took {slowest}.");
            Assert.True(authorizations.Count(a => a.Result == "Allow") >= 20, "The workload hardly ran.");
            // Revocations and denials after revocation were really exercised...
            Assert.Contains(authorizations, a => a.Reason is "CredentialRevoked" or "TaskRevoked");
            Assert.Contains(authorizations, a => a.Reason == "CredentialExpired");
            // ...and the cluster converged: the survivors kept allowing after the victim was gone.
            Assert.Contains(authorizations, a => a.Result == "Allow" && a.Start > deadAt + TimeSpan.FromSeconds(5).Ticks);
        }
        finally
        {
            output.WriteLine($"--- workload output ---\n{workload.Output}");
            File.Delete(historyPath);
        }
    }
}
