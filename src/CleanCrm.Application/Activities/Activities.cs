using System.Text.Json;
using System.Text.Json.Serialization;
using CleanCrm.Application.Common.Crm;
using CleanCrm.Application.Common.Json;
using CleanCrm.Application.Common.Paging;
using CleanCrm.Application.Common.Persistence;
using CleanCrm.Application.Common.Results;
using CleanCrm.Application.Common.Security;
using CleanCrm.Application.Common.Tenancy;
using CleanCrm.Domain.Tenant;
using FluentValidation;
using Mediator;
using Microsoft.EntityFrameworkCore;

namespace CleanCrm.Application.Activities;

public sealed record ActivityDto(
    Guid Id,
    string Type,
    string? Subject,
    string? Body,
    DateTimeOffset OccurredAt,
    Guid? ActorId,
    ActivitySource Source,
    string? ExternalId,
    Guid? CompanyId,
    Guid? ContactId,
    Guid? DealId,
    DateTimeOffset CreatedAt,
    DateTimeOffset UpdatedAt)
{
    [JsonIgnore]
    public uint Version { get; init; }

    public static ActivityDto From(CrmActivity a) =>
        new(a.Id, a.Type, a.Subject, a.Body, a.OccurredAt, a.ActorId, a.Source, a.ExternalId, a.CompanyId, a.ContactId, a.DealId, a.CreatedAt, a.UpdatedAt) { Version = a.Version };
}

public sealed record ActivityFields : IAttachmentFields
{
    public static readonly string[] Types = ["call", "email", "meeting", "message", "note", "task", "other"];

    public string? Type { get; init; }

    public string? Subject { get; init; }

    public string? Body { get; init; }

    public DateTimeOffset? OccurredAt { get; init; }

    public Guid? ActorId { get; init; }

    public ActivitySource? Source { get; init; }

    public string? ExternalId { get; init; }

    public Guid? CompanyId { get; init; }

    public Guid? ContactId { get; init; }

    public Guid? DealId { get; init; }

    public static ActivityFields From(CrmActivity a) => new()
    {
        Type = a.Type, Subject = a.Subject, Body = a.Body, OccurredAt = a.OccurredAt, ActorId = a.ActorId, Source = a.Source, ExternalId = a.ExternalId,
        CompanyId = a.CompanyId, ContactId = a.ContactId, DealId = a.DealId,
    };

    public void ApplyTo(CrmActivity activity, WriteStamp stamp)
    {
        activity.Type = Type!;
        activity.Subject = Subject?.Trim();
        activity.Body = Body;
        activity.OccurredAt = OccurredAt ?? stamp.Now;
        activity.ActorId = ActorId;
        activity.Source = Source ?? ActivitySource.Manual;
        activity.ExternalId = string.IsNullOrWhiteSpace(ExternalId) ? null : ExternalId.Trim();
        this.ApplyTo((AttachedEntity)activity);
    }
}

public sealed class ActivityFieldsValidator : AbstractValidator<ActivityFields>
{
    public ActivityFieldsValidator()
    {
        RuleFor(x => x.Type).NotEmpty().WithMessage("is required.")
            .Must(t => t is null || ActivityFields.Types.Contains(t)).WithMessage($"must be one of {string.Join(", ", ActivityFields.Types)}.");
        RuleFor(x => x.Subject).MaximumLength(300).WithMessage("must be at most 300 characters.");
        RuleFor(x => x.Body).MaximumLength(100_000).WithMessage("must be at most 100,000 characters.");
        RuleFor(x => x.ExternalId).MaximumLength(200).WithMessage("must be at most 200 characters.");
        RuleFor(x => x.ActorId).NotEqual(Guid.Empty).WithMessage("must not be the empty UUID.");
        this.AddAttachmentRules();
    }
}

internal static class ActivityWrites
{
    public static RecordWrites<CrmActivity, ActivityFields> For(ITenantDbContext db) => new(
        "Activity",
        ActivityFields.From,
        new ActivityFieldsValidator(),
        async (fields, current, ct) => await AttachmentRules.CheckAsync(db, fields, current, ct)
                                       ?? (fields.ActorId != current?.ActorId ? await CrmReferences.CheckMemberAsync(db, fields.ActorId, "actorId", ct) : null),
        (fields, activity, stamp) => fields.ApplyTo(activity, stamp))
    {
        Constraint = (exception, fields) => exception is { Kind: ConstraintKind.Unique, ConstraintName: "ux_activities_external_live" }
            ? new Error(ErrorType.Conflict, ErrorCodes.DuplicateValue, $"An activity from source '{fields.Source}' with externalId '{fields.ExternalId}' already exists.")
            {
                Errors = new Dictionary<string, string[]> { ["externalId"] = ["is already used by another activity of this source."] },
            }
            : null,
    };
}

[RequiresPermission(Permission.CrmWrite)]
public sealed record CreateActivity(ActivityFields Fields) : ICommand<Result<ActivityDto>>, IOrgScopedRequest;

public sealed class CreateActivityValidator : AbstractValidator<CreateActivity>
{
    public CreateActivityValidator() => RuleFor(x => x.Fields).SetValidator(new ActivityFieldsValidator());
}

public sealed class CreateActivityHandler(ITenantDbContext db, ICallerContext caller, TimeProvider clock) : ICommandHandler<CreateActivity, Result<ActivityDto>>
{
    public async ValueTask<Result<ActivityDto>> Handle(CreateActivity command, CancellationToken cancellationToken)
    {
        var result = await CrmRecords.CreateAsync(db, db.Activities, command.Fields, new CrmActivity { Type = command.Fields.Type!, ActorId = caller.UserId }, ActivityWrites.For(db), caller, clock, cancellationToken);
        return result.IsSuccess ? ActivityDto.From(result.Value) : result.Error!;
    }
}

[RequiresPermission(Permission.CrmWrite)]
public sealed record UpdateActivity(Guid Id, JsonElement Patch, uint? IfMatch) : ICommand<Result<ActivityDto>>, IOrgScopedRequest;

public sealed class UpdateActivityHandler(ITenantDbContext db, ICallerContext caller, TimeProvider clock) : ICommandHandler<UpdateActivity, Result<ActivityDto>>
{
    public async ValueTask<Result<ActivityDto>> Handle(UpdateActivity command, CancellationToken cancellationToken)
    {
        var result = await CrmRecords.PatchAsync(db, db.Activities, command.Id, command.Patch, command.IfMatch, ActivityWrites.For(db), caller, clock, cancellationToken);
        return result.IsSuccess ? ActivityDto.From(result.Value) : result.Error!;
    }
}

[RequiresPermission(Permission.CrmWrite)]
public sealed record DeleteActivity(Guid Id, uint? IfMatch) : ICommand<Result<Unit>>, IOrgScopedRequest;

public sealed class DeleteActivityHandler(ITenantDbContext db, ICallerContext caller, TimeProvider clock) : ICommandHandler<DeleteActivity, Result<Unit>>
{
    public ValueTask<Result<Unit>> Handle(DeleteActivity command, CancellationToken cancellationToken) =>
        CrmRecords.SoftDeleteAsync(db, db.Activities, command.Id, command.IfMatch, "Activity", caller, clock, cancellationToken);
}

[RequiresPermission(Permission.CrmRead)]
public sealed record GetActivity(Guid Id) : IQuery<Result<ActivityDto>>, IOrgScopedRequest;

public sealed class GetActivityHandler(ITenantDbContext db) : IQueryHandler<GetActivity, Result<ActivityDto>>
{
    public async ValueTask<Result<ActivityDto>> Handle(GetActivity query, CancellationToken cancellationToken)
    {
        var activity = await db.Activities.AsNoTracking().FirstOrDefaultAsync(a => a.Id == query.Id && a.DeletedAt == null, cancellationToken);
        return activity is null ? Error.NotFound("Activity", query.Id) : ActivityDto.From(activity);
    }
}

[RequiresPermission(Permission.CrmRead)]
public sealed record ListActivities(
    int? Limit = null,
    string? Cursor = null,
    string? Sort = null,
    string? Q = null,
    string? Type = null,
    string? Source = null,
    Guid? ActorId = null,
    Guid? CompanyId = null,
    Guid? ContactId = null,
    Guid? DealId = null,
    DateTimeOffset? OccurredAfter = null,
    DateTimeOffset? OccurredBefore = null) : IQuery<Result<Page<ActivityDto>>>, IOrgScopedRequest, IListQuery;

public sealed class ListActivitiesValidator : ListQueryValidator<ListActivities, CrmActivity>
{
    public ListActivitiesValidator()
        : base(ListActivitiesHandler.Sorts)
    {
        RuleFor(x => x.Source).Must(ApiEnum<ActivitySource>.IsValid).WithMessage($"must be one of {ApiEnum<ActivitySource>.Names}.");
    }
}

public sealed class ListActivitiesHandler(ITenantDbContext db) : IQueryHandler<ListActivities, Result<Page<ActivityDto>>>
{
    public static readonly SortKeys<CrmActivity> Sorts = new(
        "-occurredAt",
        SortKey<CrmActivity>.Time("occurredAt", a => a.OccurredAt),
        SortKey<CrmActivity>.Time("createdAt", a => a.CreatedAt),
        SortKey<CrmActivity>.Time("updatedAt", a => a.UpdatedAt));

    public async ValueTask<Result<Page<ActivityDto>>> Handle(ListActivities query, CancellationToken cancellationToken)
    {
        var activities = db.Activities.Where(a => a.DeletedAt == null).AttachedTo(query.CompanyId, query.ContactId, query.DealId);
        if (!string.IsNullOrWhiteSpace(query.Q))
        {
            var text = query.Q.Trim().ToLowerInvariant();
            activities = activities.Where(a => (a.Subject ?? string.Empty).ToLower().Contains(text) || (a.Body ?? string.Empty).ToLower().Contains(text));
        }

        if (query.Type is { } type)
        {
            activities = activities.Where(a => a.Type == type);
        }

        if (ApiEnum<ActivitySource>.Parse(query.Source) is { } source)
        {
            activities = activities.Where(a => a.Source == source);
        }

        if (query.ActorId is { } actorId)
        {
            activities = activities.Where(a => a.ActorId == actorId);
        }

        if (query.OccurredAfter is { } after)
        {
            activities = activities.Where(a => a.OccurredAt >= after);
        }

        if (query.OccurredBefore is { } before)
        {
            activities = activities.Where(a => a.OccurredAt < before);
        }

        return await Sorts.PageAsync(activities, query, ActivityDto.From, cancellationToken);
    }
}
