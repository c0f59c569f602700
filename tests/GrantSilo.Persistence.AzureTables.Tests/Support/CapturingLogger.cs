using Microsoft.Extensions.Logging;

namespace GrantSilo.Persistence.AzureTables.Tests.Support;

/// <summary>Keeps every log entry, message and exception text, so tests can check what was logged.</summary>
public sealed class CapturingLogger<T> : ILogger<T>
{
    private readonly List<string> _entries = [];

    public IReadOnlyList<string> Entries
    {
        get
        {
            lock (_entries)
            {
                return [.. _entries];
            }
        }
    }

    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => true;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        lock (_entries)
        {
            _entries.Add($"{logLevel} {eventId.Id} {formatter(state, exception)} {exception}");
        }
    }
}
