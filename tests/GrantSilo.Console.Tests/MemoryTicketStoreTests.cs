using System.Security.Claims;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Time.Testing;

namespace GrantSilo.WebConsole.Tests;

/// <summary>The console's server-side sessions: bounded per person, never renewed under a key someone may hold, and observable when they end.</summary>
public sealed class MemoryTicketStoreTests
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 28, 9, 0, 0, TimeSpan.Zero));

    private AuthenticationTicket Ticket(string person, TimeSpan lifetime)
    {
        var identity = new ClaimsIdentity(ConsoleAuth.Scheme, ClaimTypes.Name, ClaimTypes.Role);
        identity.AddClaim(new Claim(ClaimTypes.Name, person));
        return new AuthenticationTicket(new ClaimsPrincipal(identity), new AuthenticationProperties { ExpiresUtc = _time.GetUtcNow() + lifetime }, ConsoleAuth.Scheme);
    }

    [Fact]
    public async Task OnePersonSigningInOverAndOver_EndsOnlyTheirOwnOldestSessions_NeverAnotherPersons()
    {
        var store = new MemoryTicketStore(_time, maxSessions: 4, maxSessionsPerPerson: 2);
        // Bob's session ends soonest of all, so a cap that ends the oldest-expiring of anyone's would end his first.
        var bob = await store.StoreAsync(Ticket("person:bob@test.dev", TimeSpan.FromMinutes(5)));
        var mallory = new List<string>();
        for (var i = 0; i < 6; i++)
        {
            mallory.Add(await store.StoreAsync(Ticket("person:mallory@test.dev", TimeSpan.FromMinutes(30 + i))));
        }

        Assert.NotNull(await store.RetrieveAsync(bob));
        Assert.Null(await store.RetrieveAsync(mallory[0]));
        Assert.Null(await store.RetrieveAsync(mallory[3]));
        Assert.NotNull(await store.RetrieveAsync(mallory[4]));
        Assert.NotNull(await store.RetrieveAsync(mallory[5]));
        Assert.Equal(3, store.Count);
    }

    [Fact]
    public async Task PastTheSilosCap_TheOldestExpiringGo()
    {
        var store = new MemoryTicketStore(_time, maxSessions: 3, maxSessionsPerPerson: 2);
        var first = await store.StoreAsync(Ticket("person:a@test.dev", TimeSpan.FromMinutes(1)));
        var others = new[]
        {
            await store.StoreAsync(Ticket("person:b@test.dev", TimeSpan.FromMinutes(2))),
            await store.StoreAsync(Ticket("person:c@test.dev", TimeSpan.FromMinutes(3))),
            await store.StoreAsync(Ticket("person:d@test.dev", TimeSpan.FromMinutes(4))),
        };
        Assert.Null(await store.RetrieveAsync(first));
        foreach (var key in others)
        {
            Assert.NotNull(await store.RetrieveAsync(key));
        }
        Assert.Equal(3, store.Count);
    }

    [Fact]
    public async Task ASignInOverALiveSession_EndsIt_AndKeepsNothingUnderItsKey()
    {
        var store = new MemoryTicketStore(_time);
        var planted = await store.StoreAsync(Ticket("person:mallory@test.dev", TimeSpan.FromMinutes(30)));
        var ended = store.Ended((await store.RetrieveAsync(planted))!.Properties);
        Assert.False(ended.IsCancellationRequested);

        // The cookie handler renews the key the browser held when someone signs in over it.
        await store.RenewAsync(planted, Ticket("person:dana@test.dev", TimeSpan.FromMinutes(30)));

        Assert.Null(await store.RetrieveAsync(planted));
        Assert.True(ended.IsCancellationRequested);
        Assert.Equal(0, store.Count);
    }

    [Fact]
    public async Task ASignInRequest_DoesNotReadTheSessionItsCookieNames_ItEndsIt()
    {
        var store = new MemoryTicketStore(_time);
        var planted = await store.StoreAsync(Ticket("person:mallory@test.dev", TimeSpan.FromMinutes(30)));
        var ordinary = new DefaultHttpContext();
        Assert.NotNull(await store.RetrieveAsync(planted, ordinary, CancellationToken.None));

        var signIn = new DefaultHttpContext();
        MemoryTicketStore.BeginSignIn(signIn);
        Assert.Null(await store.RetrieveAsync(planted, signIn, CancellationToken.None));
        Assert.Null(await store.RetrieveAsync(planted, ordinary, CancellationToken.None));
    }

    [Fact]
    public async Task ASessionsEnd_IsSignalled_AtSignOutAndAtExpiry()
    {
        var store = new MemoryTicketStore(_time);
        var signedOut = await store.StoreAsync(Ticket("person:a@test.dev", TimeSpan.FromMinutes(30)));
        var expiring = await store.StoreAsync(Ticket("person:b@test.dev", TimeSpan.FromMinutes(5)));
        var signedOutEnded = store.Ended((await store.RetrieveAsync(signedOut))!.Properties);
        var expiringEnded = store.Ended((await store.RetrieveAsync(expiring))!.Properties);

        await store.RemoveAsync(signedOut);
        Assert.True(signedOutEnded.IsCancellationRequested);
        Assert.False(expiringEnded.IsCancellationRequested);

        _time.Advance(TimeSpan.FromMinutes(5));
        Assert.Null(await store.RetrieveAsync(expiring));
        Assert.True(expiringEnded.IsCancellationRequested);
        // A ticket the store does not hold (or no ticket) counts as ended: a stream never outlives what it cannot find.
        Assert.True(store.Ended(new AuthenticationProperties()).IsCancellationRequested);
        Assert.True(store.Ended(null).IsCancellationRequested);
    }
}
