using System.Collections.Concurrent;
using System.Reflection;
using Microsoft.Extensions.Logging;

namespace GrantSilo.Grains.Tests;

/// <summary>
/// An <see cref="IClusterClient"/> without a cluster: every grain call it hands out is recorded and
/// answered by <see cref="Answer"/>, so the client SDK's handling of what the transport does (answer,
/// fail, cancel) is tested directly. Observer references are the observers themselves.
/// </summary>
public class StubClusterClient : DispatchProxy
{
    /// <summary>Answers a grain call: gets the method and its arguments, returns the task the call returns.</summary>
    public Func<MethodInfo, object?[], object> Answer { get; set; } = (method, _) => Completed(method);

    /// <summary>Every grain call made, in order.</summary>
    public ConcurrentQueue<(MethodInfo Method, object?[] Arguments)> Calls { get; } = new();

    /// <summary>Observer references deleted.</summary>
    public ConcurrentQueue<object> DeletedReferences { get; } = new();

    public static (IClusterClient Client, StubClusterClient Stub) Create()
    {
        var client = DispatchProxy.Create<IClusterClient, StubClusterClient>();
        return (client, (StubClusterClient)(object)client);
    }

    protected override object? Invoke(MethodInfo? targetMethod, object?[]? args)
    {
        ArgumentNullException.ThrowIfNull(targetMethod);
        switch (targetMethod.Name)
        {
            case nameof(IGrainFactory.GetGrain) when targetMethod.IsGenericMethod:
                var grain = (StubGrain)DispatchProxy.Create(targetMethod.ReturnType, typeof(StubGrain));
                grain.Owner = this;
                return grain;
            case nameof(IGrainFactory.CreateObjectReference):
                return args![0];
            case nameof(IGrainFactory.DeleteObjectReference):
                DeletedReferences.Enqueue(args![0]!);
                return null;
            default:
                throw new NotSupportedException($"The stub cluster client does not do {targetMethod.Name}.");
        }
    }

    /// <summary>A call that succeeds with the default value of its result type.</summary>
    public static object Completed(MethodInfo method) =>
        Typed(method, nameof(CompletedOf), []);

    /// <summary>A call that fails with <paramref name="exception"/>.</summary>
    public static object Faulted(MethodInfo method, Exception exception) =>
        Typed(method, nameof(FaultedOf), [exception]);

    /// <summary>
    /// A call still in flight that ends as Orleans ends one whose caller cancels: with an
    /// <see cref="OperationCanceledException"/> for the caller's token, without waiting for the grain.
    /// </summary>
    public static object CancelledWith(MethodInfo method, CancellationToken token) =>
        Typed(method, nameof(CancelledWithOf), [token]);

    private static object Typed(MethodInfo method, string factory, object[] arguments)
    {
        var result = method.ReturnType.IsGenericType ? method.ReturnType.GetGenericArguments()[0] : typeof(object);
        return typeof(StubClusterClient).GetMethod(factory, BindingFlags.NonPublic | BindingFlags.Static)!
            .MakeGenericMethod(result).Invoke(null, arguments)!;
    }

    private static Task<T?> CompletedOf<T>() => Task.FromResult(default(T));

    private static Task<T> FaultedOf<T>(Exception exception) => Task.FromException<T>(exception);

    private static Task<T> CancelledWithOf<T>(CancellationToken token)
    {
        var completion = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
        token.Register(() => completion.TrySetException(new OperationCanceledException(token)));
        return completion.Task;
    }

    /// <summary>A grain reference whose calls the owning stub records and answers.</summary>
    public class StubGrain : DispatchProxy
    {
        internal StubClusterClient Owner { get; set; } = null!;

        protected override object? Invoke(MethodInfo? targetMethod, object?[]? args)
        {
            ArgumentNullException.ThrowIfNull(targetMethod);
            args ??= [];
            Owner.Calls.Enqueue((targetMethod, args));
            var answer = Owner.Answer(targetMethod, args);
            // Task (not Task<T>) methods get a completed task of the matching shape.
            return targetMethod.ReturnType == typeof(Task) && answer is not Task ? Task.CompletedTask : answer;
        }
    }
}

/// <summary>Collects log entries with their formatted text, state values and exception.</summary>
public sealed class RecordingLoggerProvider : ILoggerProvider
{
    public ConcurrentQueue<Entry> Entries { get; } = new();

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    public void Dispose()
    {
    }

    public sealed record Entry(string Category, LogLevel Level, EventId EventId, string Text, IReadOnlyList<KeyValuePair<string, object?>> State, Exception? Exception);

    private sealed class Logger(RecordingLoggerProvider provider, string category) : ILogger<object>
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            provider.Entries.Enqueue(new Entry(category, logLevel, eventId, formatter(state, exception),
                state as IReadOnlyList<KeyValuePair<string, object?>> ?? [], exception));
    }
}
