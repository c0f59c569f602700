using GrantSilo.Testing.Azurite;

namespace GrantSilo.Persistence.AzureTables.Tests.Unit;

public sealed class AzuriteProcessTests
{
    [Fact]
    public void FindRepositoryRoot_FindsTheDirectoryHoldingGrantSiloSln()
    {
        var root = AzuriteProcess.FindRepositoryRoot();

        Assert.True(File.Exists(Path.Combine(root, "GrantSilo.sln")));
    }

    [Fact]
    public async Task StartAsync_WithoutAzuriteInstalled_FailsSayingToRunNpmCi()
    {
        var root = Directory.CreateTempSubdirectory("no-azurite-").FullName;
        try
        {
            var error = await Assert.ThrowsAsync<InvalidOperationException>(() => AzuriteProcess.StartAsync(root));

            Assert.Contains("npm ci", error.Message, StringComparison.Ordinal);
            Assert.Contains("not installed", error.Message, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }
}
