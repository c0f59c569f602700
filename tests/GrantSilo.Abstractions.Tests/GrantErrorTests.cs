using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Serialization;

namespace GrantSilo.Abstractions.Tests;

public class GrantErrorTests
{
    private static readonly InvalidOperationException Cause = new("inner detail 5e1d");

    private static GrantError Error() =>
        new(GrantErrorCode.Unavailable, "GrantSilo could not complete the request.", target: "t-1") { DetailCode = "Detail", Exception = Cause };

    [Fact]
    public void TheKeptException_NeverCrossesTheWire_AndTheRestDoes()
    {
        using var services = new ServiceCollection().AddSerializer().BuildServiceProvider();
        var serializer = services.GetRequiredService<Serializer>();

        var copy = serializer.Deserialize<GrantResult<int>>(serializer.SerializeToArray(GrantResult<int>.Fail(Error())))!.Error!;

        Assert.Null(copy.Exception);
        Assert.Equal(Error() with { Exception = null }, copy);
    }

    [Fact]
    public void TheKeptException_IsNotInJsonOrText()
    {
        var error = Error();
        Assert.Same(Cause, error.Exception);

        var json = JsonSerializer.Serialize(error);
        Assert.DoesNotContain(nameof(GrantError.Exception), json, StringComparison.Ordinal);
        Assert.DoesNotContain("5e1d", json, StringComparison.Ordinal);
        Assert.Contains("could not complete", json, StringComparison.Ordinal);
        Assert.DoesNotContain("5e1d", error.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain("5e1d", error.Message, StringComparison.Ordinal);
    }
}
