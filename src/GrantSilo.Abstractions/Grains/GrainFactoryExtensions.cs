using System.Collections.Concurrent;
using Orleans.Runtime;

namespace GrantSilo.GrainInterfaces;

/// <summary>
/// Grain references by string key without Orleans' per-call type resolution. <c>IGrainFactory.GetGrain&lt;T&gt;(string)</c>
/// resolves the interface to its grain interface type and grain type on every call (reading the interface's
/// attributes and formatting its name): on the issuance path about 4% of the silo's CPU between grains, and about 5%
/// more in the SDK's call into the session. The two types never change for an interface, so they are resolved once, by
/// Orleans itself on the first call, and reused.
/// </summary>
/// <remarks>
/// For the silo's grains: the types are kept per process, which holds one silo's code. The SDK, which runs in its users'
/// processes beside whatever else they connect to, keeps them per client instead (<see cref="GrainReferencesByKey"/>).
/// Internal: not part of the public API.
/// </remarks>
internal static class GrainFactoryExtensions
{
    /// <summary>
    /// The reference to the grain of interface <typeparamref name="T"/> with key <paramref name="key"/>: the same
    /// reference <c>GetGrain&lt;T&gt;(key)</c> returns.
    /// </summary>
    public static T GetGrainByKey<T>(this IGrainFactory factory, string key)
        where T : IGrainWithStringKey
    {
        ArgumentNullException.ThrowIfNull(factory);
        if (ResolvedTypes<T>.Value is { } types)
        {
            return types.Reference<T>(factory, key);
        }
        var first = factory.GetGrain<T>(key);
        if (ResolvedGrainTypes.Of(first) is { } resolved)
        {
            ResolvedTypes<T>.Value = resolved;
        }
        return first;
    }

    /// <summary>The id of the grain of interface <typeparamref name="T"/> with key <paramref name="key"/>, without a reference made for it once the types are known.</summary>
    public static GrainId GetGrainIdByKey<T>(this IGrainFactory factory, string key)
        where T : IGrainWithStringKey =>
        ResolvedTypes<T>.Value is { } types ? GrainId.Create(types.Grain, key) : factory.GetGrainByKey<T>(key).GetGrainId();

    // One per interface; written once (any thread may win the race: every one resolves the same types).
    private static class ResolvedTypes<T>
    {
        public static volatile ResolvedGrainTypes? Value;
    }
}

/// <summary>An interface's grain type and grain interface type, as Orleans resolved them.</summary>
internal sealed record ResolvedGrainTypes(GrainType Grain, GrainInterfaceType Interface)
{
    /// <summary>The types of <paramref name="reference"/>, or null when it is not one of Orleans' own references.</summary>
    public static ResolvedGrainTypes? Of(object reference) =>
        reference is GrainReference grain ? new ResolvedGrainTypes(grain.GrainId.Type, grain.InterfaceType) : null;

    /// <summary>The reference to the grain with key <paramref name="key"/>, of these types.</summary>
    public T Reference<T>(IGrainFactory factory, string key) => (T)factory.GetGrain(GrainId.Create(Grain, key), Interface);
}

/// <summary>
/// Grain references by string key from one grain factory, each interface's types resolved once for that factory (as
/// <see cref="GrainFactoryExtensions.GetGrainByKey{T}"/> does per process). A factory whose references are not Orleans'
/// own (a decorator's, a test double's) is asked with <c>GetGrain&lt;T&gt;(key)</c> every time.
/// </summary>
internal sealed class GrainReferencesByKey(IGrainFactory factory)
{
    // Null for an interface whose first reference was not a GrainReference: that factory is always asked.
    private readonly ConcurrentDictionary<Type, ResolvedGrainTypes?> _resolved = new();

    /// <summary>The reference <c>GetGrain&lt;T&gt;(key)</c> returns.</summary>
    public T Get<T>(string key)
        where T : IGrainWithStringKey
    {
        if (_resolved.TryGetValue(typeof(T), out var types))
        {
            return types is null ? factory.GetGrain<T>(key) : types.Reference<T>(factory, key);
        }
        var first = factory.GetGrain<T>(key);
        _resolved.TryAdd(typeof(T), ResolvedGrainTypes.Of(first));
        return first;
    }
}
