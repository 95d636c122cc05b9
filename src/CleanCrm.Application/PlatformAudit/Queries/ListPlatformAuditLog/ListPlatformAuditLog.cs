using System.Text.RegularExpressions;
using CleanCrm.Application.Common.Paging;
using CleanCrm.Application.Common.Persistence;
using CleanCrm.Application.Common.Results;
using CleanCrm.Application.Common.Security;
using CleanCrm.Domain.Catalog;
using FluentValidation;
using Mediator;
using Microsoft.EntityFrameworkCore;

namespace CleanCrm.Application.PlatformAudit.Queries.ListPlatformAuditLog;

/// <summary>The platform audit log, newest first, filtered and keyset-paged (<c>GET /api/v1/admin/audit-log</c>).</summary>
[RequiresPlatformAdmin]
public sealed record ListPlatformAuditLog(
    Guid? OrganizationId = null,
    Guid? ActorUserId = null,
    string? Action = null,
    DateTimeOffset? From = null,
    DateTimeOffset? To = null,
    string? Cursor = null,
    int? Limit = null) : IQuery<Result<Page<PlatformAuditEntryDto>>>;

public sealed partial class ListPlatformAuditLogValidator : AbstractValidator<ListPlatformAuditLog>
{
    public ListPlatformAuditLogValidator()
    {
        RuleFor(x => x.Limit).InclusiveBetween(1, Cursor.MaxLimit).WithMessage($"must be between 1 and {Cursor.MaxLimit}.");
        RuleFor(x => x.Cursor).Must(ListPlatformAuditLogHandler.IsValidCursor).WithMessage("is not a cursor returned by this list.");
        RuleFor(x => x.Action).Must(a => a is null || ActionPattern().IsMatch(a))
            .WithMessage("must be an action such as organization.suspend (lower case, at most 100 characters).");
        RuleFor(x => x.To).Must((q, to) => to is null || q.From is null || to >= q.From).WithMessage("must not be before from.");
    }

    [GeneratedRegex("^[a-z0-9_]{1,60}(\\.[a-z0-9_]{1,39})?$", RegexOptions.CultureInvariant)]
    private static partial Regex ActionPattern();
}

public sealed class ListPlatformAuditLogHandler(ICatalogDbContext db)
    : IQueryHandler<ListPlatformAuditLog, Result<Page<PlatformAuditEntryDto>>>
{
    private const string Sort = "-occurredAt";

    private static readonly SortKey<PlatformAuditEntry> OccurredAt = SortKey<PlatformAuditEntry>.Time("occurredAt", e => e.OccurredAt);

    public static bool IsValidCursor(string? cursor)
    {
        if (!Cursor.TryDecode(cursor, Sort, out var decoded))
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

    public async ValueTask<Result<Page<PlatformAuditEntryDto>>> Handle(ListPlatformAuditLog query, CancellationToken cancellationToken)
    {
        var entries = db.PlatformAuditLog.AsNoTracking();
        if (query.OrganizationId is { } organizationId)
        {
            entries = entries.Where(e => e.OrganizationId == organizationId);
        }

        if (query.ActorUserId is { } actorUserId)
        {
            entries = entries.Where(e => e.ActorUserId == actorUserId);
        }

        if (query.Action is { } action)
        {
            // "organization" matches every organization.* action; "organization.suspend" exactly that one.
            entries = action.Contains('.', StringComparison.Ordinal)
                ? entries.Where(e => e.Action == action)
                : entries.Where(e => e.Action.StartsWith(action + "."));
        }

        if (query.From is { } from)
        {
            entries = entries.Where(e => e.OccurredAt >= from);
        }

        if (query.To is { } to)
        {
            entries = entries.Where(e => e.OccurredAt < to);
        }

        Cursor.TryDecode(query.Cursor, Sort, out var after);
        var limit = query.Limit ?? Cursor.DefaultLimit;
        var rows = await Keyset.Seek(entries, OccurredAt, descending: true, after, e => e.Id).Take(limit + 1).ToListAsync(cancellationToken);
        var organizationIds = rows.Where(e => e.OrganizationId is not null).Select(e => e.OrganizationId!.Value).Distinct().ToList();
        var slugs = organizationIds.Count == 0
            ? []
            : await db.Organizations.AsNoTracking().Where(o => organizationIds.Contains(o.Id))
                .ToDictionaryAsync(o => o.Id, o => o.Slug, cancellationToken);
        return Keyset.ToPage(rows, limit, OccurredAt, Sort, e => e.Id,
            e => PlatformAuditEntryDto.From(e, e.OrganizationId is { } id ? slugs.GetValueOrDefault(id) : null));
    }
}
