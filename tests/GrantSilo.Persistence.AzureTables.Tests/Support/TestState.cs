namespace GrantSilo.Persistence.AzureTables.Tests.Support;

/// <summary>Grain state used by the storage contract tests.</summary>
[GenerateSerializer]
[Alias("grantsilo.tests.test-state")]
public sealed class TestState
{
    [Id(0)]
    public int Counter { get; set; }

    [Id(1)]
    public string Text { get; set; } = string.Empty;

    [Id(2)]
    public byte[] Blob { get; set; } = [];
}
