namespace GrantSilo.Testing;

/// <summary>
/// Polls a condition until it holds or a deadline passes: for effects that are asynchronous by design
/// (one-way tracking, cascades, a cluster settling after a crash). Never a fixed sleep.
/// </summary>
public static class Eventually
{

    /// <summary>The deadline of a wait inside one in-process cluster.</summary>
    public static readonly TimeSpan InProcess = TimeSpan.FromSeconds(10);

    /// <summary>Polls until <paramref name="done"/> holds, and fails the test naming <paramref name="what"/> if the deadline passes first. Errors of the probe count as "not yet".</summary>
    public static async Task<T> ReturnsAsync<T>(Func<Task<T>> probe, Func<T, bool> done, TimeSpan timeout, string what)
    {
        var deadline = DateTime.UtcNow + timeout;
        var last = default(T);
        Exception? lastError = null;
        while (true)
        {
            try
            {
                last = await probe();
                if (done(last))
                {
                    return last;
                }
            }
            catch (Exception exception) when (exception is not Xunit.Sdk.XunitException)
            {
                lastError = exception;
            }
            if (DateTime.UtcNow > deadline)
            {
                Assert.Fail($"{what} did not happen within {timeout.TotalSeconds:0} s; last value: {last}; last error: {lastError?.Message}");
            }
            await Task.Delay(PollFor(timeout));
        }
    }

    /// <summary>Polls until <paramref name="done"/> holds or the deadline passes; returns the last value either way (the caller asserts on it).</summary>
    public static async Task<T> LastAsync<T>(Func<Task<T>> probe, Func<T, bool> done, TimeSpan? timeout = null)
    {
        var wait = timeout ?? InProcess;
        var deadline = DateTime.UtcNow + wait;
        while (true)
        {
            var last = await probe();
            if (done(last) || DateTime.UtcNow > deadline)
            {
                return last;
            }
            await Task.Delay(PollFor(wait));
        }
    }

    /// <summary>Polls until <paramref name="probe"/> answers true, failing the test naming <paramref name="what"/> at the deadline.</summary>
    public static Task HoldsAsync(Func<Task<bool>> probe, TimeSpan timeout, string what) =>
        ReturnsAsync(probe, b => b, timeout, what);

    // Short waits poll often; waits for a cluster of processes to settle poll gently.
    private static TimeSpan PollFor(TimeSpan timeout) => timeout > InProcess ? TimeSpan.FromMilliseconds(200) : TimeSpan.FromMilliseconds(20);
}
