namespace GrantSilo.Cedar.Validation;

/// <summary>The validator's view of an extension function: argument types (receiver first for methods) and result type.</summary>
internal sealed record ExtensionSignature(StaticType[] Arguments, StaticType Result, bool IsConstructor);

/// <summary>Type signatures of Cedar's extension functions (<c>ip</c>, <c>decimal</c>, <c>datetime</c>, <c>duration</c>).</summary>
internal static class ExtensionSignatures
{
    private static readonly StaticType Ip = StaticType.Extension("ipaddr");
    private static readonly StaticType Decimal = StaticType.Extension("decimal");
    private static readonly StaticType Datetime = StaticType.Extension("datetime");
    private static readonly StaticType Duration = StaticType.Extension("duration");

    private static readonly Dictionary<string, ExtensionSignature> All = new(StringComparer.Ordinal)
    {
        ["ip"] = new([StaticType.String], Ip, true),
        ["decimal"] = new([StaticType.String], Decimal, true),
        ["datetime"] = new([StaticType.String], Datetime, true),
        ["duration"] = new([StaticType.String], Duration, true),
        ["isIpv4"] = new([Ip], StaticType.Bool, false),
        ["isIpv6"] = new([Ip], StaticType.Bool, false),
        ["isLoopback"] = new([Ip], StaticType.Bool, false),
        ["isMulticast"] = new([Ip], StaticType.Bool, false),
        ["isInRange"] = new([Ip, Ip], StaticType.Bool, false),
        ["lessThan"] = new([Decimal, Decimal], StaticType.Bool, false),
        ["lessThanOrEqual"] = new([Decimal, Decimal], StaticType.Bool, false),
        ["greaterThan"] = new([Decimal, Decimal], StaticType.Bool, false),
        ["greaterThanOrEqual"] = new([Decimal, Decimal], StaticType.Bool, false),
        ["offset"] = new([Datetime, Duration], Datetime, false),
        ["durationSince"] = new([Datetime, Datetime], Duration, false),
        ["toDate"] = new([Datetime], Datetime, false),
        ["toTime"] = new([Datetime], Duration, false),
        ["toMilliseconds"] = new([Duration], StaticType.Long, false),
        ["toSeconds"] = new([Duration], StaticType.Long, false),
        ["toMinutes"] = new([Duration], StaticType.Long, false),
        ["toHours"] = new([Duration], StaticType.Long, false),
        ["toDays"] = new([Duration], StaticType.Long, false),
    };

    public static ExtensionSignature Of(string name) =>
        All.TryGetValue(name, out var s) ? s : throw new InvalidOperationException($"no validator signature for extension function `{name}`");
}
