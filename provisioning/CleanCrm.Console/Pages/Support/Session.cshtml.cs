using CleanCrm.Application.Common.Paging;
using CleanCrm.Application.Support;
using CleanCrm.Application.Support.Commands.RevokeSupportSession;
using CleanCrm.Application.Support.Queries.BrowseSupportSession;
using CleanCrm.Application.Support.Queries.ListSupportSessions;
using Mediator;
using Microsoft.AspNetCore.Mvc;

namespace CleanCrm.Console.Pages.Support;

/// <summary>
/// A read-only look at one organization's CRM records through a support session; nothing on this page writes to the
/// organization (the request runs in a read-only transaction, and the page has no write control).
/// </summary>
public sealed class SessionModel(ISender sender) : ConsolePageModel(sender)
{
    public static readonly IReadOnlyList<(string Resource, string Label)> Resources =
        [("contacts", "Contacts"), ("companies", "Companies"), ("deals", "Deals")];

    [FromRoute]
    public Guid SessionId { get; set; }

    [BindProperty(SupportsGet = true)]
    public string Resource { get; set; } = "contacts";

    [BindProperty(SupportsGet = true)]
    public string? Q { get; set; }

    [BindProperty(SupportsGet = true)]
    public string? Cursor { get; set; }

    public SupportSessionDto? Session { get; private set; }

    public Page<SupportRecordDto>? Records { get; private set; }

    public string Caption => Resources.FirstOrDefault(r => r.Resource == Resource).Label ?? "Records";

    public async Task<IActionResult> OnGetAsync()
    {
        Session = (await SendAsync(new ListSupportSessions()))?.Items.FirstOrDefault(s => s.Id == SessionId);
        if (Session is null)
        {
            return ErrorMessage is null ? NotFound() : Page();
        }

        if (!Resources.Any(r => r.Resource == Resource))
        {
            Resource = "contacts";
        }

        if (Session.Active)
        {
            Records = await SendAsync(new BrowseSupportSession(SessionId, Resource, string.IsNullOrWhiteSpace(Q) ? null : Q.Trim(),
                string.IsNullOrEmpty(Cursor) ? null : Cursor, 50));
        }

        return Page();
    }

    public async Task<IActionResult> OnPostEndAsync() =>
        await ActAsync(new RevokeSupportSession(SessionId), _ => "Support session ended.", OnGetAsync,
            session => Redirect($"/organizations/{session.OrganizationId}"));
}
