using CleanCrm.Application.Common.Results;
using CleanCrm.Application.Common.Security;
using CleanCrm.Application.Common.Tenancy;
using FluentValidation;
using Mediator;

namespace CleanCrm.Application.ApiClients.Commands.CreateApiClient;

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
        RuleFor(x => x.Fields.Name)
            .NotEmpty().WithMessage("is required.")
            .MaximumLength(100).WithMessage("must be at most 100 characters.")
            .OverridePropertyName("name");
        RuleFor(x => x.Fields.Role)
            .Must(role => role is null || Roles.Contains(role)).WithMessage($"must be one of {string.Join(", ", Roles)}.")
            .OverridePropertyName("role");
    }
}

public sealed class CreateApiClientHandler(IApiClientRegistry registry, ITenantContext tenant)
    : ICommandHandler<CreateApiClient, Result<CreatedApiClientDto>>
{
    public async ValueTask<Result<CreatedApiClientDto>> Handle(CreateApiClient command, CancellationToken cancellationToken) =>
        await registry.CreateAsync(
            tenant.Current!.OrganizationId, command.Fields.Name!.Trim(), command.Fields.Role ?? "member", cancellationToken);
}
