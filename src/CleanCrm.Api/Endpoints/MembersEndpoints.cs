using CleanCrm.Api.Infrastructure;
using CleanCrm.Api.Tenancy;
using CleanCrm.Application.Members;
using CleanCrm.Application.Members.Commands.ChangeMemberRole;
using CleanCrm.Application.Members.Commands.RemoveMember;
using CleanCrm.Application.Members.Queries.ListMembers;
using Mediator;
using Microsoft.AspNetCore.Mvc;

namespace CleanCrm.Api.Endpoints;

public static class MembersEndpoints
{
    public static IEndpointRouteBuilder MapMembers(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/v1/members").WithTags("Members").RequireAuthorization().RequireOrg().WithCrmProblems();
        group.MapGet("/", async (IMediator mediator, CancellationToken ct) => HttpResults.Ok(await mediator.Send(new ListMembers(), ct)))
            .WithName("Members_List")
            .WithSummary("List members")
            .WithDescription("Returns the organization's members and their roles.")
            .Produces<MemberList>();
        group.MapPatch("/{userId:guid}",
            async (Guid userId, [FromBody] ChangeMemberRoleFields body, IMediator mediator, CancellationToken ct) =>
                HttpResults.Ok(await mediator.Send(new ChangeMemberRole(userId, body), ct)))
            .WithName("Members_ChangeRole")
            .WithSummary("Change a member's role")
            .WithDescription("Changes the role of a member of the organization.")
            .Produces<MemberDto>();
        group.MapDelete("/{userId:guid}", async (Guid userId, IMediator mediator, CancellationToken ct) =>
            HttpResults.NoContent(await mediator.Send(new RemoveMember(userId), ct)))
            .WithName("Members_Remove")
            .WithSummary("Remove a member")
            .WithDescription("Removes a member from the organization.")
            .Produces(StatusCodes.Status204NoContent);
        return app;
    }
}
