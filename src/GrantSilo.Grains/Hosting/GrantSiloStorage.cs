namespace GrantSilo.Grains.Hosting;

/// <summary>The names of the Orleans providers GrantSilo's grains use.</summary>
public static class GrantSiloStorage
{
    /// <summary>The grain storage provider holding agents, tasks, sessions and credentials.</summary>
    public const string Name = "grants";
}
