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
            .WithName("ListMembers")
            .Produces<MemberList>();
        group.MapPatch("/{userId:guid}",
            async (Guid userId, [FromBody] ChangeMemberRoleFields body, IMediator mediator, CancellationToken ct) =>
                HttpResults.Ok(await mediator.Send(new ChangeMemberRole(userId, body), ct)))
            .WithName("ChangeMemberRole")
            .Produces<MemberDto>();
        group.MapDelete("/{userId:guid}", async (Guid userId, IMediator mediator, CancellationToken ct) =>
            HttpResults.NoContent(await mediator.Send(new RemoveMember(userId), ct)))
            .WithName("RemoveMember")
            .Produces(StatusCodes.Status204NoContent);
        return app;
    }
}
