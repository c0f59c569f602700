using System.Security.Cryptography;
using GrantSilo.Grains.Keys;

namespace GrantSilo.Grains.Tests;

/// <summary>The reused HMAC contexts (<see cref="HmacKey"/>) give exactly the one-shot MAC, whatever came before on any thread.</summary>
public sealed class HmacKeyTests
{
    [Fact]
    public async Task EveryMac_EqualsTheOneShotMac_AcrossThreadsAndRepeatedUse()
    {
        var key = RandomNumberGenerator.GetBytes(32);
        using var mac = new HmacKey(key);
        var inputs = Enumerable.Range(0, 64).Select(i => RandomNumberGenerator.GetBytes(i * 7)).ToArray();

        var mismatches = await Task.WhenAll(Enumerable.Range(0, 8).Select(worker => Task.Run(() =>
        {
            var wrong = 0;
            Span<byte> got = stackalloc byte[32];
            for (var round = 0; round < 50; round++)
            {
                var input = inputs[(round * 13 + worker) % inputs.Length];
                mac.Compute(input, got);
                if (!got.SequenceEqual(HMACSHA256.HashData(key, input)))
                {
                    wrong++;
                }
            }
            return wrong;
        })));

        Assert.All(mismatches, wrong => Assert.Equal(0, wrong));
    }

    [Fact]
    public void ADestinationShorterThanAMac_IsRefused_AndSpoilsNoLaterMac()
    {
        var key = RandomNumberGenerator.GetBytes(32);
        using var mac = new HmacKey(key);

        Assert.Throws<ArgumentException>(() => mac.Compute("x"u8, new byte[16]));
        var after = new byte[32];
        mac.Compute("y"u8, after);

        Assert.Equal(HMACSHA256.HashData(key, "y"u8.ToArray()), after);
    }
}
