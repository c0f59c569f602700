using GrantSilo.Identity;

namespace GrantSilo.Grains.Access;

/// <summary>
/// The authenticated caller of the grain call being served, set by <see cref="CallerGate"/> for the
/// duration of the call. Null for a call made inside the cluster (a grain, timer or reminder), which
/// the gate has already recognised as internal.
/// </summary>
internal static class CallerContext
{
    private static readonly AsyncLocal<Caller?> CurrentCaller = new();

    public static Caller? Current => CurrentCaller.Value;

    internal static void Set(Caller? caller) => CurrentCaller.Value = caller;

    /// <summary>
    /// A name an outside caller gave for itself (an approver, an author), checked against what it proved:
    /// a call from inside the cluster keeps the given name; an outside caller's name is its own, and a
    /// different one is refused.
    /// </summary>
    public static GrantResult<string> ProvenName(string? claimed, string what)
    {
        if (Current is not { } caller)
        {
            return claimed is null ? GrantResult<string>.Fail(GrantErrorCode.InvalidArgument, $"{what} is required.") : claimed;
        }
        if (!string.IsNullOrEmpty(claimed) && !string.Equals(claimed, caller.Name, StringComparison.Ordinal))
        {
            return GrantResult<string>.Fail(GrantErrorCode.Forbidden, $"{what} must be the authenticated caller ({caller.Name}); a caller cannot act under another name.");
        }
        return caller.Name;
    }
}
