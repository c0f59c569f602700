using System.Text.Json;
using GrantSilo.EndToEnd.Workload;

namespace GrantSilo.EndToEnd.Tests.Support;

/// <summary>An Allow for an invocation that started after the credential had been revoked (acknowledged) or had expired.</summary>
internal sealed record Violation(HistoryRecord Authorize, string Why);

/// <summary>
/// Checks a recorded history: for each credential, the earliest acknowledged end (the end timestamp of
/// a successful revoke of the credential or of its task or any ancestor task) and its expiry; every
/// Authorize whose invocation started after either and returned Allow is a violation.
/// </summary>
internal sealed class HistoryChecker
{
    private HistoryChecker(IReadOnlyList<HistoryRecord> records) => Records = records;

    public IReadOnlyList<HistoryRecord> Records { get; }

    public static HistoryChecker Load(string path) =>
        new([.. File.ReadLines(path).Where(l => l.Length > 0).Select(l => JsonSerializer.Deserialize<HistoryRecord>(l, HistoryRecord.Json)!)]);

    public static HistoryChecker Of(IEnumerable<HistoryRecord> records) => new([.. records]);

    public IEnumerable<HistoryRecord> Authorizations => Records.Where(r => r.Op == "authorize");

    public IReadOnlyList<Violation> Violations()
    {
        var issued = Records.Where(r => r.Op == "issue" && r.Result == "ok" && r.Credential is not null).ToDictionary(r => r.Credential!);
        var revokedTasks = Records.Where(r => r.Op == "revoke-task" && r.Result == "ok" && r.Task is not null)
            .GroupBy(r => r.Task!).ToDictionary(g => g.Key, g => g.Min(r => r.End));
        var revokedCredentials = Records.Where(r => r.Op == "revoke-credential" && r.Result == "ok" && r.Credential is not null)
            .GroupBy(r => r.Credential!).ToDictionary(g => g.Key, g => g.Min(r => r.End));

        var violations = new List<Violation>();
        foreach (var allow in Authorizations.Where(r => r.Result == "Allow"))
        {
            if (allow.Credential is null || !issued.TryGetValue(allow.Credential, out var issue))
            {
                violations.Add(new Violation(allow, "Allow for a credential the history never saw issued"));
                continue;
            }
            if (revokedCredentials.TryGetValue(allow.Credential, out var revokedAt) && allow.Start > revokedAt)
            {
                violations.Add(new Violation(allow, $"started {Ms(allow.Start - revokedAt)} after the credential's revocation was acknowledged"));
            }
            foreach (var task in issue.Chain ?? [])
            {
                if (revokedTasks.TryGetValue(task, out var taskRevokedAt) && allow.Start > taskRevokedAt)
                {
                    violations.Add(new Violation(allow, $"started {Ms(allow.Start - taskRevokedAt)} after the revocation of task {task} was acknowledged"));
                }
            }
            if (issue.ExpiresAt is { } expiresAt && allow.Start > expiresAt)
            {
                violations.Add(new Violation(allow, $"started {Ms(allow.Start - expiresAt)} after the credential expired"));
            }
        }
        return violations;
    }

    private static string Ms(long ticks) => $"{TimeSpan.FromTicks(ticks).TotalMilliseconds:0.0} ms";
}
