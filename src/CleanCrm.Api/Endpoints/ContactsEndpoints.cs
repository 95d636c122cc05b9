using System.Text.Json;
using CleanCrm.Api.Infrastructure;
using CleanCrm.Api.Tenancy;
using CleanCrm.Application.Common.Paging;
using CleanCrm.Application.Contacts;
using CleanCrm.Application.Contacts.Commands.CreateContact;
using CleanCrm.Application.Contacts.Commands.DeleteContact;
using CleanCrm.Application.Contacts.Commands.UpdateContact;
using CleanCrm.Application.Contacts.Queries.GetContact;
using CleanCrm.Application.Contacts.Queries.ListContacts;
using Mediator;
using Microsoft.AspNetCore.Mvc;

namespace CleanCrm.Api.Endpoints;

public static class ContactsEndpoints
{
    public static IEndpointRouteBuilder MapContacts(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/v1/contacts").WithTags("Contacts").RequireAuthorization().RequireOrg().WithCrmProblems();

        group.MapGet("/", async ([AsParameters] ListContactsParameters p, IMediator mediator, CancellationToken ct) =>
                HttpResults.Ok(await mediator.Send(new ListContacts(p.Limit, p.Cursor, p.Sort, p.Q, p.OwnerId, p.CompanyId, p.Email,
                    p.Source, p.CreatedAfter, p.CreatedBefore), ct)))
            .WithName("Contacts_List")
            .WithSummary("List contacts")
            .WithDescription("Returns one page of the organization's contacts ({items,nextCursor}); pass nextCursor back as cursor for "
                + "the next page.")
            .Produces<Page<ContactDto>>();

        group.MapPost("/", async ([FromBody] ContactFields body, IMediator mediator, CancellationToken ct) =>
                HttpResults.Created(await mediator.Send(new CreateContact(body), ct), c => $"/api/v1/contacts/{c.Id}", c => c.Version))
            .WithName("Contacts_Create")
            .WithSummary("Create a contact")
            .WithDescription("Creates a contact and answers 201 with it, its Location and its ETag.")
            .Produces<ContactDto>(StatusCodes.Status201Created)
            .ProducesProblem(StatusCodes.Status409Conflict);

        group.MapGet("/{id:guid}", async (Guid id, IMediator mediator, CancellationToken ct) =>
                HttpResults.OkWithETag(await mediator.Send(new GetContact(id), ct), c => c.Version))
            .WithName("Contacts_Get")
            .WithSummary("Get a contact")
            .WithDescription("Returns one contact with its ETag (send it back as If-Match to update or delete).")
            .Produces<ContactDto>();

        group.MapPatch("/{id:guid}",
            async (Guid id, [FromBody] JsonElement patch, HttpRequest request, IMediator mediator, CancellationToken ct) =>
                HttpResults.TryReadIfMatch(request, out var ifMatch)
                    ? HttpResults.OkWithETag(await mediator.Send(new UpdateContact(id, patch, ifMatch), ct), c => c.Version)
                    : HttpResults.InvalidIfMatch())
            .WithName("Contacts_Update")
            .WithSummary("Update a contact")
            .WithDescription("Applies a JSON merge patch (RFC 7396) to the contact; If-Match makes it conditional (412 when stale).")
            .Accepts<ContactFields>("application/merge-patch+json", "application/json")
            .Produces<ContactDto>()
            .ProducesProblem(StatusCodes.Status409Conflict)
            .ProducesProblem(StatusCodes.Status412PreconditionFailed);

        group.MapDelete("/{id:guid}", async (Guid id, HttpRequest request, IMediator mediator, CancellationToken ct) =>
                HttpResults.TryReadIfMatch(request, out var ifMatch)
                    ? HttpResults.NoContent(await mediator.Send(new DeleteContact(id, ifMatch), ct))
                    : HttpResults.InvalidIfMatch())
            .WithName("Contacts_Delete")
            .WithSummary("Delete a contact")
            .WithDescription("Deletes the contact; If-Match makes it conditional (412 when stale).")
            .Produces(StatusCodes.Status204NoContent)
            .ProducesProblem(StatusCodes.Status412PreconditionFailed);

        return app;
    }

    public sealed record ListContactsParameters(
        int? Limit,
        string? Cursor,
        string? Sort,
        string? Q,
        Guid? OwnerId,
        Guid? CompanyId,
        string? Email,
        string? Source,
        DateTimeOffset? CreatedAfter,
        DateTimeOffset? CreatedBefore);
}
