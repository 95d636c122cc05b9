using System.Data.Common;
using System.Text.Json;
using System.Text.Json.Nodes;
using CleanCrm.Application.Common.Json;
using CleanCrm.Application.Contacts;
using CleanCrm.Application.Deals;
using CleanCrm.Application.Meetings;
using CleanCrm.Domain.Tenant;
using CleanCrm.Infrastructure.Tenancy;
using CleanCrm.Infrastructure.Workflows;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.ChangeTracking;
using Microsoft.EntityFrameworkCore.Diagnostics;

namespace CleanCrm.Infrastructure.Persistence.Tenant;

/// <summary>
/// The outbox writer (docs/adr/0020-domain-event-outbox.md): turns what a save changes into <see cref="DomainEvent"/> rows of the
/// same save, so an event exists exactly when its change committed, whichever handler or job made it. Once the change commits
/// (at once, or when the surrounding transaction does), the organization's dispatcher job is queued.
/// </summary>
public sealed class DomainEventInterceptor(TenantScopeAccessor scopes, DomainEventDispatchQueue dispatch, TimeProvider clock)
    : ISaveChangesInterceptor, IDbTransactionInterceptor
{
    public ValueTask<InterceptionResult<int>> SavingChangesAsync(DbContextEventData eventData, InterceptionResult<int> result,
        CancellationToken cancellationToken = default)
    {
        Append(eventData.Context);
        return ValueTask.FromResult(result);
    }

    public InterceptionResult<int> SavingChanges(DbContextEventData eventData, InterceptionResult<int> result)
    {
        Append(eventData.Context);
        return result;
    }

    public ValueTask<int> SavedChangesAsync(SaveChangesCompletedEventData eventData, int result,
        CancellationToken cancellationToken = default)
    {
        SignalIfCommitted(eventData.Context);
        return ValueTask.FromResult(result);
    }

    public int SavedChanges(SaveChangesCompletedEventData eventData, int result)
    {
        SignalIfCommitted(eventData.Context);
        return result;
    }

    public Task TransactionCommittedAsync(DbTransaction transaction, TransactionEndEventData eventData,
        CancellationToken cancellationToken = default)
    {
        Signal(eventData.Context);
        return Task.CompletedTask;
    }

    public void TransactionCommitted(DbTransaction transaction, TransactionEndEventData eventData) => Signal(eventData.Context);

    private void SignalIfCommitted(DbContext? context)
    {
        // Inside an explicit transaction the rows are not visible yet: TransactionCommitted signals instead.
        if (context is TenantDbContext { DomainEventsPending: true } tenant && tenant.Database.CurrentTransaction is null)
        {
            Signal(tenant);
        }
    }

    private void Signal(DbContext? context)
    {
        if (context is TenantDbContext { DomainEventsPending: true } tenant && scopes.Current is { } tenantInfo)
        {
            tenant.DomainEventsPending = false;
            dispatch.Enqueue(tenantInfo.OrganizationId);
        }
    }

    private void Append(DbContext? context)
    {
        if (context is not TenantDbContext tenant)
        {
            return;
        }

        context.ChangeTracker.DetectChanges();
        var now = clock.GetUtcNow();
        var events = new List<DomainEvent>();
        foreach (var entry in context.ChangeTracker.Entries<Deal>())
        {
            DescribeDeal(entry, now, events);
        }

        foreach (var entry in context.ChangeTracker.Entries<Contact>())
        {
            if (entry.State == EntityState.Added && entry.Entity.DeletedAt is null)
            {
                events.Add(Event(DomainEventTypes.ContactCreated, "contact", entry.Entity.Id, entry.Entity.CreatedBy, now,
                    Data(ContactDto.From(entry.Entity))));
            }
        }

        foreach (var entry in context.ChangeTracker.Entries<Meeting>())
        {
            DescribeMeeting(entry, now, events);
        }

        if (events.Count > 0)
        {
            // A workflow run's writes carry its causation: one level deeper than the event that started it.
            if (tenant.Causation is { } causation)
            {
                foreach (var domainEvent in events)
                {
                    domainEvent.Depth = causation.Depth;
                    domainEvent.CausationRunId = causation.RunId;
                }
            }

            context.Set<DomainEvent>().AddRange(events);
            tenant.DomainEventsPending = true;
        }
    }

    private static void DescribeDeal(EntityEntry<Deal> entry, DateTimeOffset now, List<DomainEvent> events)
    {
        var deal = entry.Entity;
        if (entry.State == EntityState.Added && deal.DeletedAt is null)
        {
            events.Add(Event(DomainEventTypes.DealCreated, "deal", deal.Id, deal.CreatedBy, now, Data(DealDto.From(deal))));
            return;
        }

        if (entry.State != EntityState.Modified || deal.DeletedAt is not null)
        {
            return;
        }

        var stage = entry.Property(d => d.StageId);
        if (stage.OriginalValue != stage.CurrentValue)
        {
            var data = Data(DealDto.From(deal));
            data["previousStageId"] = stage.OriginalValue;
            events.Add(Event(DomainEventTypes.DealStageChanged, "deal", deal.Id, deal.UpdatedBy, now, data));
        }

        var status = entry.Property(d => d.Status);
        if (status.OriginalValue != status.CurrentValue && status.CurrentValue is DealStatus.Won or DealStatus.Lost)
        {
            events.Add(Event(status.CurrentValue == DealStatus.Won ? DomainEventTypes.DealWon : DomainEventTypes.DealLost, "deal",
                deal.Id, deal.UpdatedBy, now, Data(DealDto.From(deal))));
        }
    }

    /// <summary><c>meeting.summarized</c> when a meeting gets its first summary (Fathom's, or generated from the transcript).</summary>
    private static void DescribeMeeting(EntityEntry<Meeting> entry, DateTimeOffset now, List<DomainEvent> events)
    {
        var meeting = entry.Entity;
        if (meeting.DeletedAt is not null || string.IsNullOrEmpty(meeting.Summary)
            || (entry.State != EntityState.Added
                && (entry.State != EntityState.Modified || !string.IsNullOrEmpty(entry.Property(m => m.Summary).OriginalValue))))
        {
            return;
        }

        // The meeting as the API shows it, without the transcript (which can be long and is not what subscribers need).
        var data = Data(MeetingDto.From(meeting) with { Transcript = null });
        events.Add(Event(DomainEventTypes.MeetingSummarized, "meeting", meeting.Id,
            entry.State == EntityState.Added ? meeting.CreatedBy : meeting.UpdatedBy, now, data));
    }

    private static JsonObject Data<T>(T dto) => JsonSerializer.SerializeToNode(dto, ApiJson.Options)!.AsObject();

    private static DomainEvent Event(string type, string entityType, Guid entityId, Guid? actor, DateTimeOffset now, JsonObject data) =>
        new()
        {
            Type = type,
            EntityType = entityType,
            EntityId = entityId,
            ActorId = actor,
            OccurredAt = now,
            Data = data.ToJsonString(),
        };
}
