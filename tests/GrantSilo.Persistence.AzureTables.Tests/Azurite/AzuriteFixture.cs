using Xunit;

namespace GrantSilo.Testing.Azurite;

/// <summary>
/// xunit fixture that starts one Azurite table service for a test collection and stops it afterwards. It never skips:
/// if Azurite cannot start, every test in the collection fails with a message saying how to fix it. Link this file and
/// <c>AzuriteProcess.cs</c> into another test project to reuse it.
/// </summary>
public sealed class AzuriteFixture : IAsyncLifetime
{
    private AzuriteProcess? _azurite;

    /// <summary>Gets the running Azurite.</summary>
    public AzuriteProcess Azurite => _azurite ?? throw new InvalidOperationException("Azurite has not been started.");

    /// <summary>Gets a connection string for the development account on the running Azurite.</summary>
    public string ConnectionString => Azurite.ConnectionString;

    /// <inheritdoc/>
    public async Task InitializeAsync() => _azurite = await AzuriteProcess.StartAsync().ConfigureAwait(false);

    /// <inheritdoc/>
    public async Task DisposeAsync()
    {
        if (_azurite is not null)
        {
            await _azurite.DisposeAsync().ConfigureAwait(false);
        }
    }
}
