using System.Collections.Concurrent;
using System.Reflection;
using GrantSilo.Grains.Diagnostics;
using GrantSilo.Grains.Hosting;
using Microsoft.Extensions.Logging;

namespace GrantSilo.Grains.Lifecycle;

/// <summary>
/// Every call to a lifecycle grain whose own key is malformed (<see cref="GrainKeys"/>) is refused before the
/// grain method runs, so nothing is read into, decided by or written for such a grain. The refusal is the typed
/// answer the method would give: a <see cref="GrantResult{T}"/> failure with
/// <see cref="GrantErrorCode.InvalidIdentifier"/>, a deny (<see cref="DecisionReason.MalformedToken"/>) for a
/// decision, an inactive introspection; a grain-to-grain method with no such answer throws, which its caller
/// treats as a failure (fail closed). No malformed key is ever issued, so only a forged call lands here.
/// </summary>
internal sealed partial class GrainKeyCallFilter(LifecycleServices services, Access.RefusalRecords records, ILogger<GrainKeyCallFilter> logger) : IIncomingGrainCallFilter
{
    private static readonly ConcurrentDictionary<Type, Func<GrantError, object>?> Refusals = new();

    public Task Invoke(IIncomingGrainCallContext context) => Refuse(context) ?? context.Invoke();

    /// <summary>The refusal of a call to a grain with a malformed key (its answer set, or thrown), or null to let it through.</summary>
    public Task? Refuse(IIncomingGrainCallContext context)
    {
        if (context.Grain is not IKeyedGrain { KeyError: { } error })
        {
            return null;
        }
        var method = context.InterfaceMethod;
        // Logged within the silo's budget of recorded refusals: anyone can send malformed keys, as fast as the gateway takes them.
        if (records.TryRecord(out _))
        {
            LogKeyRefused(logger, Untrusted.Id(context.TargetId.Key.ToString()), method?.Name ?? "(unknown)");
        }
        var answer = method?.ReturnType is { IsGenericType: true } returns && returns.GetGenericTypeDefinition() == typeof(Task<>)
            ? Refusal(returns.GetGenericArguments()[0], error)
            : null;
        if (answer is null)
        {
            throw new ArgumentException(error.Message);
        }
        context.Result = answer;
        return Task.CompletedTask;
    }

    private object? Refusal(Type result, GrantError error)
    {
        if (result == typeof(Decision))
        {
            return Decision.Deny(DecisionReason.MalformedToken, error.Message, services.Time.GetUtcNow());
        }
        if (result == typeof(TokenIntrospection))
        {
            return TokenIntrospection.Unknown(DecisionReason.MalformedToken, services.Time.GetUtcNow());
        }
        return Refusals.GetOrAdd(result, static type =>
        {
            if (!type.IsGenericType || type.GetGenericTypeDefinition() != typeof(GrantResult<>))
            {
                return null;
            }
            var fail = type.GetMethod(nameof(GrantResult<object>.Fail), BindingFlags.Public | BindingFlags.Static, [typeof(GrantError)])!;
            return e => fail.Invoke(null, [e])!;
        })?.Invoke(error);
    }

    [LoggerMessage(EventId = (int)LogEvents.GrainKeyRefused, Level = LogLevel.Warning, Message = "Call {Method} to a grain with a malformed key {Key} refused; nothing was read or written")]
    private static partial void LogKeyRefused(ILogger logger, string key, string method);
}
