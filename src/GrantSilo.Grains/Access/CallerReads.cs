namespace GrantSilo.Grains.Access;

/// <summary>
/// What a listing may show the caller it serves: only the items the caller could read one by one. Each item is
/// decided with the item's read operation (<c>task.read</c>, <c>session.read</c>) against the item's own facts, by
/// the same access rules the door decides with (the silo's version confirmed with the policy store), so a listing
/// never shows more than <see cref="CallerGate"/> would let the caller read, and publishing new rules changes both.
/// </summary>
/// <remarks>
/// A listing reads its items with calls inside the cluster, which carry the cluster's mark and pass the door
/// without any rule: the check the door would make on each item is made here instead, on the listing's turn, where
/// <see cref="CallerContext.Current"/> is the verified caller of the listing.
/// </remarks>
internal static class CallerReads
{
    /// <summary>
    /// Which items the current caller may see. A call from inside the cluster (no outside caller) sees every item.
    /// Null when the access rules in force cannot be confirmed: the listing must then be refused, never shown unfiltered.
    /// </summary>
    public static async ValueTask<Func<T, bool>?> ForCurrentCallerAsync<T>(IAccessRulesSource source, string operation, Func<T, TargetFacts> describe)
    {
        if (CallerContext.Current is not { } caller)
        {
            return static _ => true;
        }
        if (await source.GetConfirmedAccessRulesAsync() is not { } rules)
        {
            return null;
        }
        return item => rules.Rules.Decide(caller, operation, item, describe).Allowed;
    }

    /// <summary>The refusal of a listing whose access rules cannot be confirmed.</summary>
    public static GrantError Unconfirmed(string listing) => new(GrantErrorCode.Unavailable, CallerGate.RulesUnconfirmed(listing));
}
