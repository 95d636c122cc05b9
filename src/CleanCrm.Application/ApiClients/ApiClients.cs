using CleanCrm.Application.Common.Results;
using CleanCrm.Application.Common.Security;
using CleanCrm.Application.Common.Tenancy;
using FluentValidation;
using Mediator;

namespace CleanCrm.Application.ApiClients;

/// <summary>Org-bound OAuth clients (client credentials) kept by the authorization server.</summary>
public interface IApiClientRegistry
{
    Task<CreatedApiClientDto> CreateAsync(Guid organizationId, string name, string role, CancellationToken cancellationToken);

    Task<IReadOnlyList<ApiClientDto>> ListAsync(Guid organizationId, CancellationToken cancellationToken);

    /// <summary>False when no client of that id belongs to the organization.</summary>
    Task<bool> DeleteAsync(Guid organizationId, string clientId, CancellationToken cancellationToken);
}

public sealed record ApiClientDto(string ClientId, string Name, string Role);

/// <summary>The secret appears here once and is stored only as a hash.</summary>
public sealed record CreatedApiClientDto(string ClientId, string ClientSecret, string Name, string Role);

public sealed record CreateApiClientFields
{
    public string? Name { get; init; }

    public string? Role { get; init; }
}

[RequiresPermission(Permission.ApiClientsManage)]
public sealed record CreateApiClient(CreateApiClientFields Fields) : ICommand<Result<CreatedApiClientDto>>, IOrgScopedRequest;

public sealed class CreateApiClientValidator : AbstractValidator<CreateApiClient>
{
    public static readonly string[] Roles = ["admin", "member", "readonly"];

    public CreateApiClientValidator()
    {
        RuleFor(x => x.Fields.Name).NotEmpty().WithMessage("is required.").MaximumLength(100).WithMessage("must be at most 100 characters.").OverridePropertyName("name");
        RuleFor(x => x.Fields.Role).Must(role => role is null || Roles.Contains(role)).WithMessage($"must be one of {string.Join(", ", Roles)}.").OverridePropertyName("role");
    }
}

public sealed class CreateApiClientHandler(IApiClientRegistry registry, ITenantContext tenant) : ICommandHandler<CreateApiClient, Result<CreatedApiClientDto>>
{
    public async ValueTask<Result<CreatedApiClientDto>> Handle(CreateApiClient command, CancellationToken cancellationToken) =>
        await registry.CreateAsync(tenant.Current!.OrganizationId, command.Fields.Name!.Trim(), command.Fields.Role ?? "member", cancellationToken);
}

[RequiresPermission(Permission.ApiClientsManage)]
public sealed record ListApiClients : IQuery<Result<ApiClientList>>, IOrgScopedRequest;

public sealed record ApiClientList(IReadOnlyList<ApiClientDto> Items);

public sealed class ListApiClientsHandler(IApiClientRegistry registry, ITenantContext tenant) : IQueryHandler<ListApiClients, Result<ApiClientList>>
{
    public async ValueTask<Result<ApiClientList>> Handle(ListApiClients query, CancellationToken cancellationToken) =>
        new ApiClientList(await registry.ListAsync(tenant.Current!.OrganizationId, cancellationToken));
}

[RequiresPermission(Permission.ApiClientsManage)]
public sealed record DeleteApiClient(string ClientId) : ICommand<Result<Unit>>, IOrgScopedRequest;

public sealed class DeleteApiClientHandler(IApiClientRegistry registry, ITenantContext tenant) : ICommandHandler<DeleteApiClient, Result<Unit>>
{
    public async ValueTask<Result<Unit>> Handle(DeleteApiClient command, CancellationToken cancellationToken) =>
        await registry.DeleteAsync(tenant.Current!.OrganizationId, command.ClientId, cancellationToken) ? Unit.Value : Error.NotFound("API client", command.ClientId);
}
