namespace GrantSilo.EndToEnd.Tests.Support;

/// <summary>
/// Orleans' management grain, called as an operator: from outside the cluster it is the operation
/// <c>cluster.manage</c>, refused without a token of a caller with the operator role.
/// </summary>
internal static class Operator
{
    /// <summary>Where <paramref name="grain"/> is active, asked as the test harness (a service with the operator role).</summary>
    public static async Task<SiloAddress?> ActivationAddressAsync(this IManagementGrain management, IAddressable grain)
    {
        // Set on this async method's request context only, so it ends with this call.
        TestIdentity.Attach(await TestIdentity.Shared.Harness.GetTokenAsync());
        return await management.GetActivationAddress(grain);
    }
}
