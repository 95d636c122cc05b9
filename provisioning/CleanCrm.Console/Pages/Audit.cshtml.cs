using System.Globalization;
using CleanCrm.Application.Common.Paging;
using CleanCrm.Application.PlatformAudit;
using CleanCrm.Application.PlatformAudit.Queries.ListPlatformAuditLog;
using Mediator;
using Microsoft.AspNetCore.Http.Extensions;
using Microsoft.AspNetCore.Mvc;

namespace CleanCrm.Console.Pages;

public sealed class AuditModel(ISender sender) : ConsolePageModel(sender)
{
    [BindProperty(SupportsGet = true)]
    public Guid? OrganizationId { get; set; }

    [BindProperty(SupportsGet = true)]
    public Guid? ActorUserId { get; set; }

    [BindProperty(SupportsGet = true)]
    public string? Action { get; set; }

    [BindProperty(SupportsGet = true)]
    public DateTime? From { get; set; }

    [BindProperty(SupportsGet = true)]
    public DateTime? To { get; set; }

    [BindProperty(SupportsGet = true)]
    public string? Cursor { get; set; }

    public Page<PlatformAuditEntryDto>? Entries { get; private set; }

    public string? FromText => From?.ToString("yyyy-MM-ddTHH:mm", CultureInfo.InvariantCulture);

    public string? ToText => To?.ToString("yyyy-MM-ddTHH:mm", CultureInfo.InvariantCulture);

    public async Task OnGetAsync()
    {
        if (!ModelState.IsValid)
        {
            ErrorMessage = "Organization id and actor user id must be UUIDs; From and To must be dates.";
            return;
        }

        var action = string.IsNullOrWhiteSpace(Action) ? null : Action.Trim();
        Entries = await SendAsync(new ListPlatformAuditLog(OrganizationId, ActorUserId, action,
            Utc(From), Utc(To), string.IsNullOrEmpty(Cursor) ? null : Cursor, 50));
    }

    public string QueryWithCursor(string cursor)
    {
        var query = new QueryBuilder();
        void Add(string key, string? value)
        {
            if (!string.IsNullOrWhiteSpace(value))
            {
                query.Add(key, value);
            }
        }

        Add("organizationId", OrganizationId?.ToString());
        Add("actorUserId", ActorUserId?.ToString());
        Add("action", Action);
        Add("from", FromText);
        Add("to", ToText);
        Add("cursor", cursor);
        return query.ToQueryString().Value ?? string.Empty;
    }

    // The form's datetime-local values are read as UTC (the table shows UTC).
    private static DateTimeOffset? Utc(DateTime? value) =>
        value is { } at ? new DateTimeOffset(DateTime.SpecifyKind(at, DateTimeKind.Utc)) : null;
}
