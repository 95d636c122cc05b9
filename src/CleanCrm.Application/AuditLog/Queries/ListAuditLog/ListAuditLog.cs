using System.Text.Json;
using CleanCrm.Application.Common.Paging;
using CleanCrm.Application.Common.Persistence;
using CleanCrm.Application.Common.Results;
using CleanCrm.Application.Common.Security;
using CleanCrm.Application.Common.Tenancy;
using CleanCrm.Domain.Tenant;
using FluentValidation;
using Mediator;
using Microsoft.EntityFrameworkCore;

namespace CleanCrm.Application.AuditLog.Queries.ListAuditLog;

public sealed record AuditEntryDto(
    Guid Id,
    DateTimeOffset OccurredAt,
    Guid? ActorId,
    string Action,
    string EntityType,
    Guid EntityId,
    JsonElement Changes,
    string? CorrelationId)
{
    public static AuditEntryDto From(AuditEntry e)
    {
        using var changes = JsonDocument.Parse(e.Changes);
        return new(e.Id, e.OccurredAt, e.ActorId, e.Action, e.EntityType, e.EntityId, changes.RootElement.Clone(), e.CorrelationId);
    }
}

/// <summary>The organization's audit log, newest first by default, with filters and keyset paging.</summary>
[RequiresPermission(Permission.AuditLogRead)]
public sealed record ListAuditLog(
    int? Limit = null,
    string? Cursor = null,
    string? Sort = null,
    string? EntityType = null,
    Guid? EntityId = null,
    Guid? ActorId = null,
    string? Action = null,
    string? CorrelationId = null,
    DateTimeOffset? From = null,
    DateTimeOffset? To = null) : IQuery<Result<Page<AuditEntryDto>>>, IOrgScopedRequest;

public sealed class ListAuditLogValidator : AbstractValidator<ListAuditLog>
{
    public ListAuditLogValidator()
    {
        RuleFor(x => x.Limit).InclusiveBetween(1, Cursor.MaxLimit).WithMessage($"must be between 1 and {Cursor.MaxLimit}.");
        RuleFor(x => x.Sort).Must(s => s is null or "occurredAt" or "-occurredAt").WithMessage("must be occurredAt or -occurredAt.");
        RuleFor(x => x.Cursor).Must((q, c) => ListAuditLogHandler.IsValidCursor(q.Sort, c))
            .WithMessage("is not a cursor returned by this list with the same sort.");
        RuleFor(x => x.EntityType).MaximumLength(50).WithMessage("must be at most 50 characters.");
        RuleFor(x => x.Action).MaximumLength(20).WithMessage("must be at most 20 characters.");
        RuleFor(x => x.CorrelationId).MaximumLength(64).WithMessage("must be at most 64 characters.");
        RuleFor(x => x.To).Must((q, to) => to is null || q.From is null || to >= q.From).WithMessage("must not be before from.");
    }
}

public sealed class ListAuditLogHandler(ITenantDbContext db) : IQueryHandler<ListAuditLog, Result<Page<AuditEntryDto>>>
{
    private static readonly SortKey<AuditEntry> OccurredAt = SortKey<AuditEntry>.Time("occurredAt", a => a.OccurredAt);

    public static bool IsValidCursor(string? sort, string? cursor)
    {
        if (!Cursor.TryDecode(cursor, sort ?? "-occurredAt", out var decoded))
        {
            return false;
        }

        try
        {
            _ = decoded is null ? null : OccurredAt.Parse(decoded.Value);
            return true;
        }
        catch (Exception exception) when (exception is FormatException or ArgumentException)
        {
            return false;
        }
    }

    public async ValueTask<Result<Page<AuditEntryDto>>> Handle(ListAuditLog query, CancellationToken cancellationToken)
    {
        var sort = query.Sort ?? "-occurredAt";
        Cursor.TryDecode(query.Cursor, sort, out var after);
        var limit = query.Limit ?? Cursor.DefaultLimit;
        var entries = db.AuditLog.AsNoTracking();
        if (query.EntityType is { } entityType)
        {
            entries = entries.Where(a => a.EntityType == entityType);
        }

        if (query.EntityId is { } entityId)
        {
            entries = entries.Where(a => a.EntityId == entityId);
        }

        if (query.ActorId is { } actorId)
        {
            entries = entries.Where(a => a.ActorId == actorId);
        }

        if (query.Action is { } action)
        {
            entries = entries.Where(a => a.Action == action);
        }

        if (query.CorrelationId is { } correlationId)
        {
            entries = entries.Where(a => a.CorrelationId == correlationId);
        }

        if (query.From is { } from)
        {
            entries = entries.Where(a => a.OccurredAt >= from);
        }

        if (query.To is { } to)
        {
            entries = entries.Where(a => a.OccurredAt < to);
        }

        var rows = await Keyset.Seek(entries, OccurredAt, sort.StartsWith('-'), after, a => a.Id)
            .Take(limit + 1)
            .ToListAsync(cancellationToken);
        return Keyset.ToPage(rows, limit, OccurredAt, sort, a => a.Id, AuditEntryDto.From);
    }
}
