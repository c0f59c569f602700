using System.Security.Claims;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Time.Testing;

namespace GrantSilo.WebConsole.Tests;

/// <summary>The console's server-side sessions: never renewed under a key someone may hold.</summary>
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
    public async Task ASignInOverALiveSession_EndsIt_AndKeepsNothingUnderItsKey()
    {
        var store = new MemoryTicketStore(_time);
        var planted = await store.StoreAsync(Ticket("person:mallory@test.dev", TimeSpan.FromMinutes(30)));
        // The cookie handler renews the key the browser held when someone signs in over it.
        await store.RenewAsync(planted, Ticket("person:dana@test.dev", TimeSpan.FromMinutes(30)));

        Assert.Null(await store.RetrieveAsync(planted));
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
}
