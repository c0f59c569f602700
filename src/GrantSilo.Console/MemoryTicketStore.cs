using System.Collections.Concurrent;
using System.Security.Cryptography;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;

namespace GrantSilo.WebConsole;

/// <summary>
/// The server-side session of the backend-for-frontend: the whole sign-in ticket (the person's claims and the token
/// the console calls GrantSilo with) stays in the silo host's memory; the browser's cookie carries only a random key,
/// encrypted and signed. A restart signs everyone out, which is the safe direction.
/// </summary>
internal sealed class MemoryTicketStore(TimeProvider time) : ITicketStore
{
    private const int MaxSessions = 10_000;
    private readonly ConcurrentDictionary<string, AuthenticationTicket> _tickets = new(StringComparer.Ordinal);

    public Task<string> StoreAsync(AuthenticationTicket ticket)
    {
        Sweep();
        var key = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32));
        _tickets[key] = ticket;
        return Task.FromResult(key);
    }

    public Task RenewAsync(string key, AuthenticationTicket ticket)
    {
        _tickets[key] = ticket;
        return Task.CompletedTask;
    }

    public Task<AuthenticationTicket?> RetrieveAsync(string key)
    {
        if (_tickets.TryGetValue(key, out var ticket))
        {
            if (ticket.Properties.ExpiresUtc is { } expires && expires <= time.GetUtcNow())
            {
                _tickets.TryRemove(key, out _);
                return Task.FromResult<AuthenticationTicket?>(null);
            }
            return Task.FromResult<AuthenticationTicket?>(ticket);
        }
        return Task.FromResult<AuthenticationTicket?>(null);
    }

    public Task RemoveAsync(string key)
    {
        _tickets.TryRemove(key, out _);
        return Task.CompletedTask;
    }

    // Expired sessions are dropped as new ones arrive; past the cap the oldest-expiring go first.
    private void Sweep()
    {
        var now = time.GetUtcNow();
        foreach (var (key, ticket) in _tickets)
        {
            if (ticket.Properties.ExpiresUtc is { } expires && expires <= now)
            {
                _tickets.TryRemove(key, out _);
            }
        }
        if (_tickets.Count >= MaxSessions)
        {
            foreach (var (key, _) in _tickets.OrderBy(p => p.Value.Properties.ExpiresUtc ?? DateTimeOffset.MinValue).Take(_tickets.Count - MaxSessions + 1))
            {
                _tickets.TryRemove(key, out _);
            }
        }
    }
}

/// <summary>Points the console's cookie at the server-side ticket store.</summary>
internal sealed class UseTicketStore(MemoryTicketStore store) : Microsoft.Extensions.Options.IPostConfigureOptions<CookieAuthenticationOptions>
{
    public void PostConfigure(string? name, CookieAuthenticationOptions options)
    {
        if (name == ConsoleAuth.Scheme)
        {
            options.SessionStore = store;
        }
    }
}
