using System.Text.Json;
using CleanCrm.Application.Common.Crm;
using CleanCrm.Application.Common.Persistence;
using CleanCrm.Application.Common.Results;
using CleanCrm.Application.Common.Security;
using CleanCrm.Application.Common.Tenancy;
using Mediator;
using Microsoft.EntityFrameworkCore;

namespace CleanCrm.Application.Pipelines.Commands.UpdatePipeline;

/// <summary>
/// Merge patch of a pipeline's name and default flag. Making a pipeline the default takes the flag from the previous one;
/// the default cannot simply be switched off (an organization always has one), only handed to another pipeline.
/// </summary>
[RequiresPermission(Permission.PipelinesManage)]
public sealed record UpdatePipeline(Guid Id, JsonElement Patch, uint? IfMatch) : ICommand<Result<PipelineDto>>, IOrgScopedRequest;

public sealed class UpdatePipelineHandler(ITenantDbContext db, ICallerContext caller, TimeProvider clock)
    : ICommandHandler<UpdatePipeline, Result<PipelineDto>>
{
    private static readonly PipelineFieldsValidator Validator = new();

    public async ValueTask<Result<PipelineDto>> Handle(UpdatePipeline command, CancellationToken cancellationToken)
    {
        var loaded = await PipelineWrites.LoadAsync(db, command.Id, command.IfMatch, cancellationToken);
        if (!loaded.IsSuccess)
        {
            return loaded.Error!;
        }

        var pipeline = loaded.Value;
        var merged = await CrmRecords.MergeAsync(new PipelineFields(pipeline.Name, pipeline.IsDefault), command.Patch, Validator,
            cancellationToken);
        if (!merged.IsSuccess)
        {
            return merged.Error!;
        }

        var fields = merged.Value;
        if (pipeline.IsDefault && fields.IsDefault == false)
        {
            return Error.Conflict(ErrorCodes.Conflict,
                "An organization always has a default pipeline: make another pipeline the default instead of unsetting this one.");
        }

        var stamp = new WriteStamp(clock.GetUtcNow(), caller.UserId);
        if (!pipeline.IsDefault && fields.IsDefault == true)
        {
            foreach (var current in await db.Pipelines.Where(p => p.IsDefault && p.DeletedAt == null).ToListAsync(cancellationToken))
            {
                current.IsDefault = false;
                stamp.Touch(current);
            }

            pipeline.IsDefault = true;
        }

        pipeline.Name = fields.Name!.Trim();
        stamp.Touch(pipeline);
        var error = await PipelineWrites.SaveAsync(db, pipeline.Id, pipeline.Name, cancellationToken);
        return error is null ? PipelineDto.From(pipeline) : error;
    }
}
