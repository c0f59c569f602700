using Microsoft.Extensions.Logging;

namespace GrantSilo.Persistence.AzureTables.Tests.Support;

/// <summary>Keeps every log entry of every logger it makes, message and exception text, so tests can check what was logged.</summary>
public sealed class CapturingLoggerFactory : ILoggerFactory
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

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    public void AddProvider(ILoggerProvider provider)
    {
    }

    public void Dispose()
    {
    }

    private void Add(string entry)
    {
        lock (_entries)
        {
            _entries.Add(entry);
        }
    }

    private sealed class Logger(CapturingLoggerFactory factory, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
            => factory.Add($"{logLevel} {category} {eventId.Id} {formatter(state, exception)} {exception}");
    }
}
