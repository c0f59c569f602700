using System.Collections.Concurrent;
using System.Reflection;
using GrantSilo.Identity;
using Microsoft.Extensions.Logging;

namespace GrantSilo.Grains.Access;

/// <summary>
/// The one door every call from outside the cluster passes, before any grain code runs:
/// <list type="number">
/// <item>a call carrying the cluster's own mark (<see cref="ClusterCallKey"/>) is internal and passes (the Orleans
/// runtime's own calls carry it too; only a cluster client's manifest read, the cancellation of its own calls, and a
/// timer's tick delivered to its own activation pass without it);</item>
/// <item>any other call must be to a method marked <see cref="CallerOperationAttribute"/>: internal
/// interfaces are closed to clients, whatever they carry (Forbidden);</item>
/// <item>the caller's token (<see cref="CallerHeaders.Token"/>) must verify (Unauthenticated);</item>
/// <item>the caller must be within its rate (<see cref="CallerRates"/>, RateLimited, with when to retry), unless another
/// door of the silo limited it already (the HTTP API's calls carry the mark only a silo can make for that);</item>
/// <item>the access rules must permit the operation for this caller and this target (Forbidden, naming
/// what is missing). They are the silo's active version (<see cref="IAccessRulesSource"/>), published and
/// confirmed like policy versions; when they cannot be confirmed the call is refused (Unavailable).</item>
/// </list>
/// The verified caller is then available to the grain as <see cref="CallerContext.Current"/>. Every
/// refusal is logged with the caller's identity (never a token).
/// </summary>
internal sealed partial class CallerGate(ClusterCallKey clusterKey, ICallerAuthenticator authenticator, IServiceProvider services, TimeProvider clock, RefusalRecords records, CallerRates rates, ILogger<CallerGate> logger) : IIncomingGrainCallFilter
{
    private static readonly ConcurrentDictionary<MethodInfo, Door> Doors = new();

    // Resolved on first use: the rules' source (the silo's policy engine) calls grains, and grain calls pass this filter.
    private IAccessRulesSource? _rules;

    private IAccessRulesSource Rules => _rules ??= Microsoft.Extensions.DependencyInjection.ServiceProviderServiceExtensions.GetRequiredService<IAccessRulesSource>(services);

    private Audit.IAuditTrail? _audit;

    private Audit.IAuditTrail AuditTrail => _audit ??= Microsoft.Extensions.DependencyInjection.ServiceProviderServiceExtensions.GetRequiredService<Audit.IAuditTrail>(services);

    /// <summary>
    /// For the benchmark that measures what the door costs, and nothing else: a silo configured with this
    /// before <c>AddGrantSilo</c> has no door (and trusts every caller). Internal, never a setting.
    /// </summary>
    internal static void LeaveOutForMeasurement(Microsoft.Extensions.DependencyInjection.IServiceCollection services) =>
        Microsoft.Extensions.DependencyInjection.ServiceCollectionServiceExtensions.AddSingleton<CallerGate>(services, _ => throw new InvalidOperationException("This silo was built without the caller gate, for a measurement."));

    public Task Invoke(IIncomingGrainCallContext context)
    {
        // Whatever door a request came in by, the grain turn served here (and whatever it starts) is the cluster's own.
        OutsideCalls.End();
        var door = Doors.GetOrAdd(context.InterfaceMethod, static method => Door.For(method));
        // Every call a silo makes carries the mark, the runtime's own included (system targets, reminders, activation
        // management, cancellations between silos): only what a cluster client itself must send unmarked passes without it.
        if (clusterKey.Matches(RequestContext.Get(ClusterCallKey.Header), new(context.TargetId)) || door.Operation is null && UnmarkedAdmitted(door, context))
        {
            CallerContext.Set(null);
            return context.Invoke();
        }

        // The busy case, decided without an await of its own (a gateway's Authorize): a caller known here by its
        // token's reference, the rules confirmed, and permitted, to a method whose answer needs no look after.
        // Every other case, refusals included, takes the full path below, which decides the same way.
        var (carried, reference) = Proof(context, door);
        if (door.Operation is { } operation && !door.AnswersGrantResult && Present(context)
            && carried is null && reference is not null
            && authenticator.TryGetVerified(reference, out var known) && known is not null)
        {
            var confirmed = Rules.GetConfirmedAccessRulesAsync();
            if (confirmed.IsCompletedSuccessfully && confirmed.Result is { } current
                && current.Rules.Decide(known, operation, context, Describe).Allowed
                && WithinRate(context, known, out _))
            {
                CallerContext.Set(known);
                return context.Invoke();
            }
        }
        return InvokeCheckedAsync(context, door);
    }

    private async Task InvokeCheckedAsync(IIncomingGrainCallContext context, Door door)
    {
        try
        {
            await InvokeCheckedCoreAsync(context, door);
        }
        finally
        {
            ForgetIfAbsent(context);
        }
    }

    // Whether the call's target exists (or is not an object the rules describe): a call to one that does not exist takes
    // the full path, which lets its activation go afterwards.
    private static bool Present(IIncomingGrainCallContext context) => context.Grain is not IAccessTarget { TargetExists: false };

    // A call from outside the cluster to an object that does not exist (a made-up id, a refused create) must not leave its
    // activation behind. Orleans activates the target, and reads its state, before this door can refuse the call; kept, such
    // an activation would live until idle collection (15 minutes by default), so every id a caller makes up (authenticated
    // or not, and at the gateway's pace) would cost the silo memory for that long. It goes once the call is answered; a
    // later call to the id activates it afresh, as a first call would.
    private static void ForgetIfAbsent(IIncomingGrainCallContext context)
    {
        if (context.Grain is IAccessTarget { TargetExists: false })
        {
            context.TargetContext.Deactivate(new DeactivationReason(DeactivationReasonCode.ApplicationRequested, "A call from outside the cluster named an object that does not exist."));
        }
    }

    private async Task InvokeCheckedCoreAsync(IIncomingGrainCallContext context, Door door)
    {
        if (door.Operation is null)
        {
            if (Recorded())
            {
                LogInternalRefused(logger, context.InterfaceName, context.MethodName, context.TargetId);
            }
            Refuse(context, door, GrantErrorCode.Forbidden, $"{context.InterfaceName}.{context.MethodName} is internal to the cluster; clients cannot call it.");
            return;
        }

        var (carried, carriedReference) = Proof(context, door);
        var token = carried as byte[] ?? (carried is string text ? CallerHeaders.Encode(text) : null);
        Caller? caller;
        AuthenticationResult? authentication = null;
        if (token is null && carriedReference is { } reference)
        {
            // A token the caller sent before: known here, or sent again (nothing has run yet, so a retry is safe).
            if (!authenticator.TryGetVerified(reference, out caller))
            {
                Refuse(context, door, GrantErrorCode.Unauthenticated, CallerHeaders.ResendToken);
                return;
            }
        }
        else
        {
            authentication = token is null ? await authenticator.AuthenticateAsync((string?)null) : await authenticator.AuthenticateAsync(token.AsMemory());
            caller = authentication.Caller;
        }
        if (caller is null)
        {
            authentication ??= AuthenticationResult.Fail(AuthenticationFailure.Missing, "");
            if (Recorded())
            {
                LogUnauthenticated(logger, door.Operation, context.TargetId, authentication.Failure?.ToString() ?? "Missing", authentication.Detail ?? "");
                AuditRefusal(null, door.Operation, context.TargetId, DecisionReason.CallerUnauthenticated, $"unauthenticated ({authentication.Failure?.ToString() ?? "Missing"})");
            }
            Refuse(context, door, GrantErrorCode.Unauthenticated, token is null
                ? $"{door.Operation} needs an authenticated caller: the call carried no caller token."
                : $"{door.Operation} needs an authenticated caller: the caller token was refused ({authentication.Failure}{(authentication.Detail is { Length: > 0 } d ? ": " + d : "")}).");
            return;
        }

        // Only an authenticated caller has a bucket: a flood of made-up tokens is refused above and tracked nowhere.
        if (!WithinRate(context, caller, out var retryAfter))
        {
            if (Recorded())
            {
                LogRateLimited(logger, caller.ToString(), door.Operation, context.TargetId.ToString(), retryAfter.TotalSeconds);
                AuditRefusal(caller, door.Operation, context.TargetId, DecisionReason.CallerRateLimited, RateLimitedMessage(retryAfter));
            }
            Refuse(context, door, GrantErrorCode.RateLimited, RateLimitedMessage(retryAfter), retryAfter);
            return;
        }

        // The silo's active rules, confirmed within the lease. Renewing them is a marked call inside the cluster,
        // which passes this door above without consulting any rules: the rules can never refuse their own renewal.
        if (await Rules.GetConfirmedAccessRulesAsync() is not { } rules)
        {
            if (Recorded())
            {
                LogRulesUnconfirmed(logger, door.Operation, context.TargetId.ToString());
            }
            Refuse(context, door, GrantErrorCode.Unavailable, RulesUnconfirmed(door.Operation));
            return;
        }

        var verdict = rules.Rules.Decide(caller, door.Operation, context, Describe);
        if (!verdict.Allowed)
        {
            if (Recorded())
            {
                LogForbidden(logger, caller.ToString(), door.Operation, context.TargetId.ToString(), verdict.Missing ?? "");
                AuditRefusal(caller, door.Operation, context.TargetId, DecisionReason.CallerForbidden, verdict.Missing ?? "forbidden");
            }
            Refuse(context, door, GrantErrorCode.Forbidden, $"Forbidden for {caller.Name}: {verdict.Missing}.");
            return;
        }

        CallerContext.Set(caller);
        await context.Invoke();
        // A grain's own refusal of who the caller claimed to be (an approver, author or orchestrator name) is logged here too.
        if (context.Result is IGrantResult { Error: { Code: GrantErrorCode.Forbidden } refused } && Recorded())
        {
            LogForbidden(logger, caller.ToString(), door.Operation, context.TargetId.ToString(), refused.Message);
            AuditRefusal(caller, door.Operation, context.TargetId, DecisionReason.CallerForbidden, refused.Message);
        }
    }

    // Whether the caller may call now: a call another door of the silo made for its caller, after limiting it by that
    // door's own rate (the HTTP API), carries a mark bound to its target that only a silo makes, and takes nothing here.
    // A call the fast path finds past its rate took nothing: the full path asks again, and refuses it.
    private bool WithinRate(IIncomingGrainCallContext context, Caller caller, out TimeSpan retryAfter)
    {
        if (ClusterCallKey.LimitedDoorOmittedForMeasurement || clusterKey.MatchesLimitedDoor(RequestContext.Get(ClusterCallKey.LimitedDoorHeader), context.TargetId))
        {
            retryAfter = TimeSpan.Zero;
            return true;
        }
        return rates.TryAcquire(caller, out retryAfter);
    }

    private static string RateLimitedMessage(TimeSpan retryAfter) =>
        $"This caller made more calls than it may through this silo's gateway ({CallerLimitOptions.SectionName}:{nameof(CallerLimitOptions.PermitsPerSecond)} and {nameof(CallerLimitOptions.Burst)}); retry after {Math.Max(1, (int)Math.Ceiling(retryAfter.TotalSeconds))} s.";

    // Whether this refusal is logged and audited one by one (RefusalRecords: a flood of refusals must not fill either log);
    // when it is, how many were not since the last that was is audited first (RefusalRecords logs that count).
    private bool Recorded()
    {
        if (!records.TryRecord(out var unrecorded))
        {
            return false;
        }
        if (unrecorded > 0)
        {
            AuditRefusal(null, "door", (string?)null, DecisionReason.CallerForbidden, RefusalRecords.Unrecorded(unrecorded));
        }
        return true;
    }

    // A refusal on the audit log. Not waited for: a flood of refused callers must never hold up the door (or decisions);
    // it is queued like every record, and a full queue drops it (the log line above still says it happened).
    private void AuditRefusal(Caller? caller, string operation, GrainId target, DecisionReason reason, string detail) =>
        AuditRefusal(caller, operation, Untrusted.Id(target.Key.ToString()), reason, detail);

    private void AuditRefusal(Caller? caller, string operation, string? subject, DecisionReason reason, string detail)
    {
        var record = new AuditRecord
        {
            Id = Audit.AuditIds.New(clock),
            Kind = AuditEventKind.CallerRefused,
            At = clock.GetUtcNow(),
            CallerIssuer = caller?.Issuer,
            CallerSubject = caller?.Subject,
            CallerName = caller?.Name,
            Action = operation,
            Subject = subject,
            Decision = DecisionKind.Deny,
            Reason = reason,
            Detail = detail,
        };
        Audit.AuditTrailExtensions.RecordDetached(AuditTrail, record);
    }

    // A call of the runtime's own that carries no mark: a cluster client reading the cluster manifest from its gateway,
    // or cancelling a call of its own (the sender it names is the one the message came from; a client cannot cancel
    // another caller's calls this way); or a timer's tick, which the silo delivers to its own activation.
    private bool UnmarkedAdmitted(Door door, IIncomingGrainCallContext context) =>
        door.Interface is { } name && _unmarked.Contains(name)
        && name switch
        {
            CancellationExtension => context.Request.GetArgumentCount() > 0 && context.Request.GetArgument(0) is GrainId sender && context.SourceId is { } source && sender == source,
            // The timer's own invoker, never the serializable one Orleans generates for the interface.
            TimerInvoker => context.Request.GetType() is { Name: "TimerTickInvoker", Namespace: "Orleans.Runtime" },
            _ => true,
        };

    private const string CancellationExtension = "Orleans.Runtime.IGrainCallCancellationExtension";

    private const string TimerInvoker = "Orleans.Runtime.IGrainTimerInvoker";

    // The Orleans runtime interfaces that arrive without the cluster's mark, by full name (they are internal to Orleans).
    // Everything else of Orleans' own (system targets such as membership and silo control, the reminder service,
    // activation management, the dashboard's grains) is the cluster's alone: a client's call is refused.
    private readonly HashSet<string> _unmarked = UnmarkedInterfaces(services);

    private static HashSet<string> UnmarkedInterfaces(IServiceProvider services)
    {
        // A grain's (or system target's) own timer ticks reach it as calls through this filter, made on the silo by the
        // timer itself: their invokable is the timer's own, bound to that activation, and has no codec, so no message
        // from anywhere else can carry one.
        var names = new HashSet<string>(StringComparer.Ordinal) { "Orleans.Runtime.IClusterManifestSystemTarget", CancellationExtension, TimerInvoker };
        // Orleans.TestingHost's cluster client asks each silo it built for its view of the cluster through a system
        // target that only TestingHost registers; a silo it did not build has no such target, and admits nothing more.
        if (Type.GetType("Orleans.Runtime.TestHooks.TestHooksSystemTarget, Orleans.Runtime", throwOnError: false) is { } hooks
            && Microsoft.Extensions.DependencyInjection.ServiceProviderServiceExtensions.GetService<Microsoft.Extensions.DependencyInjection.IServiceProviderIsService>(services)?.IsService(hooks) == true)
        {
            names.Add("Orleans.Runtime.TestHooks.ITestHooks");
        }
        return names;
    }

    /// <summary>
    /// Decides as the door would decide a call of <paramref name="operation"/> by <paramref name="caller"/>, for a door
    /// that meets the caller outside a grain call (<see cref="CallerAccess"/>): only for an operation whose rules see the
    /// caller alone (<see cref="AccessRules.TargetIndependent"/>), so no target is needed and the answer is the door's.
    /// A refusal is logged and audited as the door's own; null when permitted.
    /// </summary>
    internal async ValueTask<GrantError?> DecideAsync(Caller caller, string operation, string target)
    {
        if (!AccessRules.TargetIndependent.Contains(operation))
        {
            throw new ArgumentException($"{operation} depends on its target: only the door, in the grain call, can decide it.", nameof(operation));
        }
        if (await Rules.GetConfirmedAccessRulesAsync() is not { } rules)
        {
            if (Recorded())
            {
                LogRulesUnconfirmed(logger, operation, target);
            }
            return new GrantError(GrantErrorCode.Unavailable, RulesUnconfirmed(operation));
        }
        // The target's facts are never read for these operations (the rules see its kind as empty, as at the door).
        var verdict = rules.Rules.Decide(caller, operation, static () => new TargetFacts { Kind = "", Id = "" });
        if (verdict.Allowed)
        {
            return null;
        }
        if (Recorded())
        {
            LogForbidden(logger, caller.ToString(), operation, target, verdict.Missing ?? "");
            AuditRefusal(caller, operation, target, DecisionReason.CallerForbidden, verdict.Missing ?? "forbidden");
        }
        return new GrantError(GrantErrorCode.Forbidden, $"Forbidden for {caller.Name}: {verdict.Missing}.");
    }

    /// <summary>Why <paramref name="what"/> is refused while the access rules in force cannot be confirmed.</summary>
    internal static string RulesUnconfirmed(string what) =>
        $"{what} cannot be decided now: this silo could not confirm the access rules in force with the policy store. Retry.";

    // What the access rules see of the call's target: its facts when the grain describes itself, else its kind alone.
    private static TargetFacts Describe(IIncomingGrainCallContext call) =>
        call.Grain is IAccessTarget target ? target.AccessFacts : new TargetFacts { Kind = "", Id = call.TargetId.Key.ToString() ?? "" };

    // The caller's proof: an argument of the method when it takes one (CallerProof), else the request context.
    private static (object? Token, byte[]? Reference) Proof(IIncomingGrainCallContext context, Door door)
    {
        if (door.ProofArgument >= 0 && context.Request.GetArgument(door.ProofArgument) is CallerProof proof)
        {
            return (proof.Token, proof.Reference);
        }
        return (RequestContext.Get(CallerHeaders.Token), RequestContext.Get(CallerHeaders.TokenReference) as byte[]);
    }

    private void Refuse(IIncomingGrainCallContext context, Door door, GrantErrorCode code, string message, TimeSpan? retryAfter = null)
    {
        context.Result = door.Refusal(code, message, clock.GetUtcNow(), retryAfter);
    }

    /// <summary>A method's operation, and how a refusal is returned in its result type.</summary>
    private sealed class Door
    {
        public string? Operation { get; private init; }

        /// <summary>
        /// The full name of the interface that declares the method: a method without a <see cref="CallerOperationAttribute"/>
        /// needs the cluster's mark unless its interface is one the runtime delivers unmarked (the cluster manifest, the
        /// cancellation of a client's own calls, a timer's tick). The management grain is an operator's operation.
        /// </summary>
        public string? Interface { get; private init; }
        public required Func<GrantErrorCode, string, DateTimeOffset, TimeSpan?, object?> Refusal { get; init; }

        /// <summary>The index of the method's <see cref="CallerProof"/> parameter, or -1.</summary>
        public int ProofArgument { get; private init; } = -1;

        /// <summary>Whether the method answers a <see cref="GrantResult{T}"/> (whose Forbidden the door logs).</summary>
        public bool AnswersGrantResult { get; private init; }

        public static Door For(MethodInfo method)
        {
            var operation = method.GetCustomAttribute<CallerOperationAttribute>()?.Operation;
            var declaring = method.DeclaringType;
            if (declaring == typeof(IManagementGrain))
            {
                operation = CallerOperations.ClusterManage;
            }
            var result = method.ReturnType.IsGenericType && method.ReturnType.GetGenericTypeDefinition() == typeof(Task<>)
                ? method.ReturnType.GetGenericArguments()[0]
                : null;
            return new Door
            {
                Operation = operation,
                Interface = declaring?.FullName,
                ProofArgument = Array.FindIndex(method.GetParameters(), p => p.ParameterType == typeof(CallerProof)),
                Refusal = RefusalFor(result),
                AnswersGrantResult = result is not null && typeof(IGrantResult).IsAssignableFrom(result),
            };
        }

        private static Func<GrantErrorCode, string, DateTimeOffset, TimeSpan?, object?> RefusalFor(Type? result)
        {
            if (result is not null && result.IsGenericType && result.GetGenericTypeDefinition() == typeof(GrantResult<>))
            {
                var fail = result.GetMethod(nameof(GrantResult<object>.Fail), [typeof(GrantError)])!;
                return (code, message, _, retryAfter) => fail.Invoke(null, [message == CallerHeaders.ResendToken
                    ? new GrantError(code, "The caller token this call referred to is not known on this silo; the SDK sends it again.") { DetailCode = CallerHeaders.ResendToken }
                    : new GrantError(code, message) { RetryAfter = retryAfter }]);
            }
            if (result == typeof(Decision))
            {
                return (code, message, now, retryAfter) => Decision.Deny(ReasonOf(code), message, now) with { RetryAfter = retryAfter };
            }
            if (result == typeof(TokenIntrospection))
            {
                return (code, _, _, _) => new TokenIntrospection { Active = false, Reason = ReasonOf(code) };
            }
            return (code, message, _, retryAfter) => throw new CallerRefusedException(code, message) { RetryAfter = retryAfter };
        }

        private static DecisionReason ReasonOf(GrantErrorCode code) => code switch
        {
            GrantErrorCode.Unauthenticated => DecisionReason.CallerUnauthenticated,
            GrantErrorCode.RateLimited => DecisionReason.CallerRateLimited,
            _ => DecisionReason.CallerForbidden,
        };
    }

    [LoggerMessage(EventId = 4101, Level = LogLevel.Warning, Message = "Refused a call from outside the cluster to internal method {Interface}.{Method} on {Target}.")]
    private static partial void LogInternalRefused(ILogger logger, string @interface, string method, GrainId target);

    [LoggerMessage(EventId = 4102, Level = LogLevel.Warning, Message = "Refused {Operation} on {Target}: unauthenticated caller ({Failure} {Detail}).")]
    private static partial void LogUnauthenticated(ILogger logger, string operation, GrainId target, string failure, string detail);

    [LoggerMessage(EventId = 4103, Level = LogLevel.Warning, Message = "Refused {Operation} on {Target} for {Caller}: {Missing}.")]
    private static partial void LogForbidden(ILogger logger, string caller, string operation, string target, string missing);

    [LoggerMessage(EventId = 4108, Level = LogLevel.Warning, Message = "Refused {Operation} on {Target} for {Caller}: past its rate through the gateway; it may retry after {RetryAfterSeconds} s.")]
    private static partial void LogRateLimited(ILogger logger, string caller, string operation, string target, double retryAfterSeconds);

    [LoggerMessage(EventId = 4106, Level = LogLevel.Warning, Message = "Refused {Operation} on {Target}: the access rules in force could not be confirmed with the policy store.")]
    private static partial void LogRulesUnconfirmed(ILogger logger, string operation, string target);
}
