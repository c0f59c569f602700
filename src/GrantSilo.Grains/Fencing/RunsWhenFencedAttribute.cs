namespace GrantSilo.Grains.Fencing;

/// <summary>
/// Marks a grain method that can only take permission away (dropping a decision lease). A silo whose
/// lease has lapsed still runs it: refusing it would only make an end wait out the lease it could have
/// revoked at once. Nothing that answers, grants or allows may carry this mark.
/// </summary>
[AttributeUsage(AttributeTargets.Method, Inherited = false)]
internal sealed class RunsWhenFencedAttribute : Attribute;
