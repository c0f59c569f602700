using System.Collections.Concurrent;

namespace GrantSilo.ScheduleExplorer;

/// <summary>The exception an injected fault throws (a lost reply, a refused call, a failed write).</summary>
public sealed class InjectedFaultException(string message) : Exception(message);

/// <summary>
/// The faults of one seed, applied by the silo's grain call filters and grain storage: it knows the
/// seed's grains by logical name, counts the matching calls and writes of each rule once armed, and
/// holds, fails or loses them as the rule says. Every hold is released by the plan or at the end of
/// the seed, so nothing waits forever. It also counts activity, so the driver can tell when the
/// cluster has gone quiet.
/// </summary>
public sealed class FaultInjector
{
    private readonly ConcurrentDictionary<GrainId, string> _names = new();
    private readonly RuleState[] _rules;
    private volatile bool _armed;
    private long _events;

    public FaultInjector(IEnumerable<FaultRule> rules)
    {
        _rules = [.. rules.Select(r => new RuleState(r))];
    }

    /// <summary>How much has happened (calls, writes, lease-clock timers); unchanged while the cluster is quiet.</summary>
    public long Events => Interlocked.Read(ref _events);

    /// <summary>What the faults did, for the report of a violating seed.</summary>
    public ConcurrentQueue<string> Log { get; } = new();

    /// <summary>The rules that fired at least once.</summary>
    public IReadOnlyList<FaultRule> Fired => [.. _rules.Where(r => r.Fired).Select(r => r.Rule)];

    public void Name(GrainId grain, string name) => _names[grain] = name;

    public void Arm() => _armed = true;

    public void Disarm() => _armed = false;

    public void Touch() => Interlocked.Increment(ref _events);

    public void Release(string faultId)
    {
        foreach (var rule in _rules.Where(r => r.Rule.Id == faultId))
        {
            rule.Gate.TrySetResult();
        }
    }

    public void ReleaseAll()
    {
        foreach (var rule in _rules)
        {
            rule.Gate.TrySetResult();
        }
    }

    internal async Task OnIncomingAsync(IIncomingGrainCallContext context)
    {
        Touch();
        var rule = Match(FaultSite.Callee, context.TargetId, context.InterfaceMethod?.Name);
        try
        {
            if (rule is null)
            {
                await context.Invoke();
                return;
            }
            await ApplyAsync(rule, context.Invoke);
        }
        finally
        {
            Touch();
        }
    }

    internal async Task OnOutgoingAsync(IOutgoingGrainCallContext context)
    {
        Touch();
        var rule = Match(FaultSite.Caller, context.TargetId, context.InterfaceMethod?.Name);
        try
        {
            if (rule is null)
            {
                await context.Invoke();
                return;
            }
            await ApplyAsync(rule, context.Invoke);
        }
        finally
        {
            Touch();
        }
    }

    internal async Task OnWriteAsync(GrainId grain, Func<Task> write, Action restoreETag)
    {
        Touch();
        try
        {
            var rule = Match(FaultSite.Storage, grain, null);
            switch (rule?.Rule.Action)
            {
                case FaultAction.WriteFail:
                    throw new InjectedFaultException($"{rule.Rule.Id}: injected write failure");
                case FaultAction.WriteCommitThenFail:
                    await write();
                    // The caller never saw the reply, so it still holds the old ETag.
                    restoreETag();
                    throw new InjectedFaultException($"{rule.Rule.Id}: injected lost reply of a committed write");
                case FaultAction.WriteHold:
                    await rule.Gate.Task;
                    await write();
                    return;
                default:
                    await write();
                    return;
            }
        }
        finally
        {
            Touch();
        }
    }

    private static async Task ApplyAsync(RuleState rule, Func<Task> invoke)
    {
        switch (rule.Rule.Action)
        {
            case FaultAction.Hold:
                await rule.Gate.Task;
                await invoke();
                return;
            case FaultAction.HoldReply:
                await invoke();
                await rule.Gate.Task;
                return;
            case FaultAction.LoseReply:
                await invoke();
                throw new InjectedFaultException($"{rule.Rule.Id}: injected lost reply");
            case FaultAction.Refuse:
                throw new InjectedFaultException($"{rule.Rule.Id}: injected unreachable callee");
            default:
                await invoke();
                return;
        }
    }

    private RuleState? Match(FaultSite site, GrainId target, string? method)
    {
        if (!_armed || !_names.TryGetValue(target, out var name))
        {
            return null;
        }
        foreach (var rule in _rules)
        {
            var r = rule.Rule;
            if (r.Site != site || r.Target != name || (site != FaultSite.Storage && r.Method != method))
            {
                continue;
            }
            var n = Interlocked.Increment(ref rule.Count);
            if (r.Occurrence == 0 || r.Occurrence == n)
            {
                Log.Enqueue($"{r.Id} hit ({r} : #{n})");
                rule.Fired = true;
                return rule;
            }
        }
        return null;
    }

    private sealed class RuleState(FaultRule rule)
    {
        public readonly FaultRule Rule = rule;
        public readonly TaskCompletionSource Gate = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public int Count;
        public volatile bool Fired;
    }
}

/// <summary>The silo's hooks into the seed being run (in-process silos are built from types, so this is static).</summary>
public static class ExplorerHooks
{
    private static volatile FaultInjector? _current;

    public static FaultInjector? Current
    {
        get => _current;
        set => _current = value;
    }

    internal static Task IncomingAsync(IIncomingGrainCallContext context) =>
        Current is { } injector ? injector.OnIncomingAsync(context) : context.Invoke();

    internal static Task OutgoingAsync(IOutgoingGrainCallContext context) =>
        Current is { } injector ? injector.OnOutgoingAsync(context) : context.Invoke();
}
