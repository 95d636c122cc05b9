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

namespace CleanCrm.Application.Activities.Queries.ListActivities;

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
        var activities = db.Activities.Where(a => a.DeletedAt == null)
            .AttachedTo(query.CompanyId, query.ContactId, query.DealId)
            .Search(query.Q, text => a => (a.Subject ?? string.Empty).ToLower().Contains(text)
                                          || (a.Body ?? string.Empty).ToLower().Contains(text))
            .WhereIf(query.Type, type => a => a.Type == type)
            .WhereIf(ApiEnum<ActivitySource>.Parse(query.Source), source => a => a.Source == source)
            .WhereIf(query.ActorId, actorId => a => a.ActorId == actorId)
            .WhereIf(query.OccurredAfter, after => a => a.OccurredAt >= after)
            .WhereIf(query.OccurredBefore, before => a => a.OccurredAt < before);
        return await Sorts.PageAsync(activities, query, ActivityDto.From, cancellationToken);
    }
}
