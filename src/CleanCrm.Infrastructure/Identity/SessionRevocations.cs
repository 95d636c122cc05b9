using System.Collections.Immutable;
using CleanCrm.Domain.Catalog;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace CleanCrm.Infrastructure.Identity;

/// <summary>
/// The live rows of <c>session_revocations</c>, in memory: access tokens are self-contained and validated once per
/// instance (the validated-token cache, ADR 0009), so a revoked session's access tokens are refused by this list rather
/// than by a catalog lookup per request. A revocation applies at once on the instance that made it and, on the others,
/// as soon as the catalog's NOTIFY arrives (<see cref="Tenancy.CatalogChangeListener"/> asks for a refresh), at the
/// latest within <see cref="RefreshInterval"/> (<see cref="SessionRevocationRefresher"/>).
/// </summary>
public sealed class SessionRevocations(TimeProvider clock)
{
    public static readonly TimeSpan RefreshInterval = TimeSpan.FromSeconds(2);

    private State _state = State.Empty;
    private TaskCompletionSource _refreshRequested = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Asks the refresher to read the catalog now (a revocation was written, maybe by another instance).</summary>
    public void RequestRefresh() => Volatile.Read(ref _refreshRequested).TrySetResult();

    /// <summary>Completes at the next <see cref="RequestRefresh"/>; the refresher then takes a new signal before reading.</summary>
    internal Task RefreshRequested => Volatile.Read(ref _refreshRequested).Task;

    internal void ResetRefreshRequest()
    {
        if (Volatile.Read(ref _refreshRequested).Task.IsCompleted)
        {
            Interlocked.Exchange(ref _refreshRequested, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
        }
    }

    /// <summary>Whether a user's token or cookie issued at <paramref name="issuedAt"/> for this session is revoked.</summary>
    public bool IsRevoked(Guid userId, Guid? sessionId, DateTimeOffset? issuedAt)
    {
        var state = Volatile.Read(ref _state);
        if (state.IsEmpty)
        {
            return false;
        }

        if (sessionId is { } session && state.Sessions.ContainsKey(session))
        {
            return true;
        }

        // Token and cookie times have whole seconds; "revoke all" compares against its own whole second, so a sign-in a
        // moment after it is not refused.
        return state.Users.TryGetValue(userId, out var revokedAt)
            && (issuedAt is not { } issued || issued < TruncateToSecond(revokedAt));
    }

    /// <summary>Applies revocations just written to the catalog on this instance, before the next refresh.</summary>
    public void Apply(IEnumerable<SessionRevocation> rows) => Merge(rows);

    /// <summary>Loads the live rows; entries past their horizon drop out, revocations are never undone.</summary>
    public async Task RefreshAsync(Persistence.Catalog.CatalogDbContext db, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        var rows = await db.SessionRevocations.AsNoTracking().Where(r => r.ExpiresAt > now).ToListAsync(cancellationToken);
        Merge(rows);
    }

    private void Merge(IEnumerable<SessionRevocation> rows)
    {
        var now = clock.GetUtcNow();
        var list = rows.ToList();
        while (true)
        {
            var current = Volatile.Read(ref _state);
            var sessions = current.Sessions.Where(e => e.Value > now).ToDictionary();
            var users = current.Users.Where(e => e.Value.Add(SessionRevocation.Horizon) > now).ToDictionary();
            foreach (var row in list.Where(r => r.ExpiresAt > now))
            {
                if (row.AuthorizationId is { } session)
                {
                    sessions[session] = row.ExpiresAt;
                }
                else if (!users.TryGetValue(row.UserId, out var known) || known < row.RevokedAt)
                {
                    users[row.UserId] = row.RevokedAt;
                }
            }

            var next = new State(sessions.ToImmutableDictionary(), users.ToImmutableDictionary());
            if (ReferenceEquals(Interlocked.CompareExchange(ref _state, next, current), current))
            {
                return;
            }
        }
    }

    private static DateTimeOffset TruncateToSecond(DateTimeOffset value) =>
        new(value.Ticks - (value.Ticks % TimeSpan.TicksPerSecond), value.Offset);

    private sealed record State(ImmutableDictionary<Guid, DateTimeOffset> Sessions, ImmutableDictionary<Guid, DateTimeOffset> Users)
    {
        public static readonly State Empty = new(ImmutableDictionary<Guid, DateTimeOffset>.Empty,
            ImmutableDictionary<Guid, DateTimeOffset>.Empty);

        public bool IsEmpty => Sessions.IsEmpty && Users.IsEmpty;
    }
}

/// <summary>Keeps <see cref="SessionRevocations"/> current on API instances and prunes rows past their horizon.</summary>
public sealed partial class SessionRevocationRefresher(
    SessionRevocations revocations,
    IServiceScopeFactory scopes,
    TimeProvider clock,
    ILogger<SessionRevocationRefresher> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var pruned = DateTimeOffset.MinValue;
        while (!stoppingToken.IsCancellationRequested)
        {
            // Taken before reading, so a NOTIFY that arrives during the read triggers another one.
            revocations.ResetRefreshRequest();
            try
            {
                await using var scope = scopes.CreateAsyncScope();
                var db = scope.ServiceProvider.GetRequiredService<Persistence.Catalog.CatalogDbContext>();
                await revocations.RefreshAsync(db, stoppingToken);
                var now = clock.GetUtcNow();
                if (now - pruned > TimeSpan.FromHours(1))
                {
                    await db.SessionRevocations.Where(r => r.ExpiresAt < now).ExecuteDeleteAsync(stoppingToken);
                    pruned = now;
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                break;
            }
            catch (Exception exception) when (exception is Npgsql.NpgsqlException or InvalidOperationException or DbUpdateException)
            {
                LogRefreshFailed(logger, exception);
            }

            try
            {
                await revocations.RefreshRequested.WaitAsync(SessionRevocations.RefreshInterval, clock, stoppingToken);
            }
            catch (TimeoutException)
            {
                // The periodic refresh: the safety net for a missed notification.
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Reading session revocations from the catalog failed; retrying")]
    private static partial void LogRefreshFailed(ILogger logger, Exception exception);
}
