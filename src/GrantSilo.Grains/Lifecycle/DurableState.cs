using GrantSilo.Grains.Diagnostics;
using Microsoft.Extensions.Logging;

namespace GrantSilo.Grains.Lifecycle;

/// <summary>
/// A lifecycle grain's state, written one write at a time, never rolled back. A write whose outcome is
/// unknown (it failed, perhaps after committing) is settled by reading storage back; until that read
/// succeeds the state is <see cref="Unsettled"/> and nothing may be answered from it.
/// </summary>
// The write gate never allocates a wait handle (only WaitAsync is used), so there is nothing to dispose.
#pragma warning disable CA1001
internal sealed partial class DurableState<TState>(IPersistentState<TState> state, ILogger logger, string kind, Func<string> key, Action deactivate)
    where TState : class, new()
#pragma warning restore CA1001
{
    private readonly SemaphoreSlim _gate = new(1, 1);

    // Writes whose outcome is not yet known (memory may be ahead of storage while any is in flight).
    private int _inFlight;
    private TaskCompletionSource? _settled;

    // A write failed and its outcome is unknown: it may have committed although its reply was lost.
    private bool _unsettled;

    // Counts reloads of the state, so a change made before a reload is never written as if it survived.
    private long _generation;

    public TState State => state.State;

    public bool Exists => state.RecordExists;

    /// <summary>True while a failed write's outcome is unknown: answers that could allow must fail closed.</summary>
    public bool Unsettled => _unsettled;

    /// <summary>
    /// Writes the state as it is in memory now. True once it is durable. False when it is not known to be:
    /// the write failed, or the state was reloaded since the caller changed it. After a failure the state
    /// is read back, so memory again matches storage; if that read fails too, the state stays
    /// <see cref="Unsettled"/> and the activation is deactivated, so the next one reloads.
    /// </summary>
    public async Task<bool> TryWriteAsync()
    {
        // Read in the caller's turn, right after it changed the state.
        var generation = _generation;
        _inFlight++;
        try
        {
            await _gate.WaitAsync();
            try
            {
                if (_unsettled)
                {
                    await SettleAsync();
                    return false;
                }
                if (generation != _generation)
                {
                    return false;
                }
                await state.WriteStateAsync();
                return true;
            }
            catch (Exception exception)
            {
                var id = key();
                LogStateWriteFailed(logger, exception, kind, id);
                _unsettled = true;
                await SettleAsync();
                return false;
            }
            finally
            {
                _gate.Release();
            }
        }
        finally
        {
            if (--_inFlight == 0 && _settled is { } settled)
            {
                _settled = null;
                settled.TrySetResult();
            }
        }
    }

    /// <summary>
    /// Whether a record exists, reading storage again when this activation found none: a record another grain created
    /// since (a credential's, written by its issuing session) is then loaded. Throws when storage cannot be read.
    /// </summary>
    public async Task<bool> ExistsInStorageAsync()
    {
        if (state.RecordExists)
        {
            return true;
        }
        await _gate.WaitAsync();
        try
        {
            if (!state.RecordExists)
            {
                await state.ReadStateAsync();
                _generation++;
            }
        }
        finally
        {
            _gate.Release();
        }
        return state.RecordExists;
    }

    /// <summary>Returns once no write is in flight, so memory holds only durable state; false while a failed write's outcome is unknown.</summary>
    public async ValueTask<bool> DurableAsync()
    {
        while (_inFlight > 0)
        {
            _settled ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            await _settled.Task;
        }
        return !_unsettled;
    }

    /// <summary>An answer built only from durable state, or <see cref="GrantErrorCode.Unavailable"/> while a write's outcome is unknown.</summary>
    public Task<GrantResult<T>> ReadDurableAsync<T>(Func<GrantResult<T>> read)
    {
        if (_inFlight == 0)
        {
            return Task.FromResult(_unsettled ? GrantResult<T>.Fail(UnknownState()) : read());
        }
        return WaitThenReadAsync();

        async Task<GrantResult<T>> WaitThenReadAsync() =>
            await DurableAsync() ? read() : GrantResult<T>.Fail(UnknownState());
    }

    private GrantError UnknownState() =>
        new(GrantErrorCode.Unavailable, $"GrantSilo cannot confirm the durable state of {kind} '{key()}' right now; retry.", target: key());

    // Reads storage back after a write whose outcome is unknown. Called with the write gate held.
    private async Task SettleAsync()
    {
        try
        {
            await state.ReadStateAsync();
            _generation++;
            _unsettled = false;
            var id = key();
            LogStateSettled(logger, kind, id);
        }
        catch (Exception exception)
        {
            // Still unknown: answer nothing from memory, and let the next activation read again.
            var id = key();
            LogStateWriteFailed(logger, exception, kind, id);
            deactivate();
        }
    }

    [LoggerMessage(EventId = (int)LogEvents.StateWriteFailed, Level = LogLevel.Error, Message = "Could not write or read back the state of {Kind} {Id}; its outcome is unknown, so nothing is answered from memory until a read settles it")]
    private static partial void LogStateWriteFailed(ILogger logger, Exception exception, string kind, string id);

    [LoggerMessage(EventId = (int)LogEvents.StateWriteFailed + 2, Level = LogLevel.Information, Message = "The state of {Kind} {Id} was read back after a failed write; answers resume from what storage holds")]
    private static partial void LogStateSettled(ILogger logger, string kind, string id);
}
