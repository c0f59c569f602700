namespace GrantSilo.Benchmarks;

/// <summary>The baseline: a grain call that does nothing.</summary>
[Alias("grantsilo.bench.INoopGrain")]
public interface INoopGrain : IGrainWithStringKey
{
    [Alias("Ping")]
    Task<int> PingAsync(int value);
}

public sealed class NoopGrain : Grain, INoopGrain
{
    public Task<int> PingAsync(int value) => Task.FromResult(value);
}
