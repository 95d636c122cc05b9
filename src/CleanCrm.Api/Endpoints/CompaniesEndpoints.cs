using System.Text.Json;
using CleanCrm.Api.Infrastructure;
using CleanCrm.Api.Tenancy;
using CleanCrm.Application.Common.Paging;
using CleanCrm.Application.Companies;
using CleanCrm.Application.Companies.Commands.CreateCompany;
using CleanCrm.Application.Companies.Commands.DeleteCompany;
using CleanCrm.Application.Companies.Commands.UpdateCompany;
using CleanCrm.Application.Companies.Queries.GetCompany;
using CleanCrm.Application.Companies.Queries.GetCompanyEnrichment;
using CleanCrm.Application.Companies.Queries.GetCompanyLogo;
using CleanCrm.Application.Companies.Queries.ListCompanies;
using Mediator;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Net.Http.Headers;

namespace CleanCrm.Api.Endpoints;

public static class CompaniesEndpoints
{
    public static IEndpointRouteBuilder MapCompanies(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/v1/companies").WithTags("Companies").RequireAuthorization().RequireOrg().WithCrmProblems();

        group.MapGet("/", async ([AsParameters] ListCompaniesParameters p, IMediator mediator, CancellationToken ct) =>
                HttpResults.Ok(await mediator.Send(new ListCompanies(p.Limit, p.Cursor, p.Sort, p.Q, p.OwnerId, p.Domain, p.Industry,
                    p.CreatedAfter, p.CreatedBefore), ct)))
            .WithName("Companies_List")
            .WithSummary("List companies")
            .WithDescription("Returns one page of the organization's companies ({items,nextCursor}); pass nextCursor back as cursor for "
                + "the next page.")
            .Produces<Page<CompanyDto>>();

        group.MapPost("/", async ([FromBody] CompanyFields body, IMediator mediator, CancellationToken ct) =>
                HttpResults.Created(await mediator.Send(new CreateCompany(body), ct), c => $"/api/v1/companies/{c.Id}", c => c.Version))
            .WithName("Companies_Create")
            .WithSummary("Create a company")
            .WithDescription("Creates a company and answers 201 with it, its Location and its ETag.")
            .Produces<CompanyDto>(StatusCodes.Status201Created)
            .ProducesProblem(StatusCodes.Status409Conflict);

        group.MapGet("/{id:guid}", async (Guid id, IMediator mediator, CancellationToken ct) =>
                HttpResults.OkWithETag(await mediator.Send(new GetCompany(id), ct), c => c.Version))
            .WithName("Companies_Get")
            .WithSummary("Get a company")
            .WithDescription("Returns one company with its ETag (send it back as If-Match to update or delete).")
            .Produces<CompanyDto>();

        group.MapPatch("/{id:guid}",
            async (Guid id, [FromBody] JsonElement patch, HttpRequest request, IMediator mediator, CancellationToken ct) =>
                HttpResults.TryReadIfMatch(request, out var ifMatch)
                    ? HttpResults.OkWithETag(await mediator.Send(new UpdateCompany(id, patch, ifMatch), ct), c => c.Version)
                    : HttpResults.InvalidIfMatch())
            .WithName("Companies_Update")
            .WithSummary("Update a company")
            .WithDescription("Applies a JSON merge patch (RFC 7396) to the company; If-Match makes it conditional (412 when stale).")
            .Accepts<CompanyFields>("application/merge-patch+json", "application/json")
            .Produces<CompanyDto>()
            .ProducesProblem(StatusCodes.Status409Conflict)
            .ProducesProblem(StatusCodes.Status412PreconditionFailed);

        group.MapDelete("/{id:guid}", async (Guid id, HttpRequest request, IMediator mediator, CancellationToken ct) =>
                HttpResults.TryReadIfMatch(request, out var ifMatch)
                    ? HttpResults.NoContent(await mediator.Send(new DeleteCompany(id, ifMatch), ct))
                    : HttpResults.InvalidIfMatch())
            .WithName("Companies_Delete")
            .WithSummary("Delete a company")
            .WithDescription("Deletes the company; If-Match makes it conditional (412 when stale).")
            .Produces(StatusCodes.Status204NoContent)
            .ProducesProblem(StatusCodes.Status412PreconditionFailed);

        group.MapGet("/{id:guid}/logo", async (Guid id, HttpResponse response, IMediator mediator, CancellationToken ct) =>
            {
                var logo = await mediator.Send(new GetCompanyLogo(id), ct);
                if (!logo.IsSuccess)
                {
                    return Problems.Result(logo.Error!);
                }

                // Private: the logo is read with the caller's credentials; the ETag makes revalidation a 304 (If-None-Match).
                response.Headers.CacheControl = "private, max-age=3600";
                return TypedResults.File(logo.Value.Png, "image/png", entityTag: new EntityTagHeaderValue($"\"{logo.Value.Hash}\""),
                    lastModified: logo.Value.FetchedAt);
            })
            .WithName("Companies_GetLogo")
            .WithSummary("Get a company's logo")
            .WithDescription("Returns the PNG thumbnail (at most 128 px) that enrichment found on the company's web site, with an ETag; "
                + "If-None-Match with that ETag answers 304. 404 when the company has no logo (yet).")
            .Produces(StatusCodes.Status200OK, typeof(byte[]), "image/png")
            .Produces(StatusCodes.Status304NotModified);

        group.MapGet("/{id:guid}/enrichment", async (Guid id, IMediator mediator, CancellationToken ct) =>
                HttpResults.Ok(await mediator.Send(new GetCompanyEnrichment(id), ct)))
            .WithName("Companies_GetEnrichment")
            .WithSummary("Get what enrichment found about a company")
            .WithDescription("Returns the title and description of the web site of the company's domain, whether a logo was found "
                + "(served by the logo route) and, for a failed attempt, why. 404 when the company has not been enriched for its "
                + "current domain (yet).")
            .Produces<CompanyEnrichmentDto>();

        return app;
    }

    public sealed record ListCompaniesParameters(
        int? Limit,
        string? Cursor,
        string? Sort,
        string? Q,
        Guid? OwnerId,
        string? Domain,
        string? Industry,
        DateTimeOffset? CreatedAfter,
        DateTimeOffset? CreatedBefore);
}

public static class CrmEndpointConventions
{
    /// <summary>The problems every org-scoped CRM endpoint can answer, so the OpenAPI document and generated client know them.</summary>
    public static RouteGroupBuilder WithCrmProblems(this RouteGroupBuilder group) =>
        group.ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status401Unauthorized)
            .ProducesProblem(StatusCodes.Status403Forbidden)
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict)
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable);
}
