namespace GrantSilo.EndToEnd.Tests.Support;

/// <summary>Polls a condition until it holds or a deadline passes; never a fixed sleep.</summary>
internal static class Eventually
{
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
            await Task.Delay(TimeSpan.FromMilliseconds(200));
        }
    }

    public static Task HoldsAsync(Func<Task<bool>> probe, TimeSpan timeout, string what) =>
        ReturnsAsync(probe, b => b, timeout, what);
}
