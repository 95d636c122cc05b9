using CleanCrm.Application.Common.Crm;
using CleanCrm.Application.Common.Paging;
using CleanCrm.Application.Common.Persistence;
using CleanCrm.Application.Common.Results;
using CleanCrm.Application.Common.Security;
using CleanCrm.Application.Common.Tenancy;
using CleanCrm.Domain.Tenant;
using Mediator;

namespace CleanCrm.Application.Tags.Queries.ListTags;

[RequiresPermission(Permission.CrmRead)]
public sealed record ListTags(int? Limit = null, string? Cursor = null, string? Sort = null, string? Q = null)
    : IQuery<Result<Page<TagDto>>>, IOrgScopedRequest, IListQuery;

public sealed class ListTagsValidator() : ListQueryValidator<ListTags, Tag>(ListTagsHandler.Sorts);

public sealed class ListTagsHandler(ITenantDbContext db) : IQueryHandler<ListTags, Result<Page<TagDto>>>
{
    public static readonly SortKeys<Tag> Sorts = new(
        "name",
        SortKey<Tag>.Text("name", t => t.Name),
        SortKey<Tag>.Time("createdAt", t => t.CreatedAt));

    public async ValueTask<Result<Page<TagDto>>> Handle(ListTags query, CancellationToken cancellationToken)
    {
        var tags = db.Tags.Where(t => t.DeletedAt == null).Search(query.Q, text => t => t.Name.ToLower().Contains(text));
        return await Sorts.PageAsync(tags, query, TagDto.From, cancellationToken);
    }
}
