using CleanCrm.Application.Common.Features;
using CleanCrm.Application.Common.Persistence;
using CleanCrm.Application.Common.Results;
using CleanCrm.Application.Common.Security;
using CleanCrm.Application.Common.Tenancy;
using CleanCrm.Domain.Catalog;
using CleanCrm.Domain.Tenant;
using FluentValidation;
using Mediator;
using Microsoft.EntityFrameworkCore;

namespace CleanCrm.Application.Proposals.Commands.UpdateProposalTemplate;

/// <summary>The body of <c>PUT /api/v1/proposals/template</c>.</summary>
public sealed record ProposalTemplateBody(string? Markdown);

/// <summary>Replaces the organization's proposal template (Markdown the model follows; at most 20,000 characters).</summary>
[RequiresPermission(Permission.CrmWrite)]
[RequiresFeature(PremiumFeatures.Proposals)]
public sealed record UpdateProposalTemplate(ProposalTemplateBody Body) : ICommand<Result<ProposalTemplateDto>>, IOrgScopedRequest;

public sealed class UpdateProposalTemplateValidator : AbstractValidator<UpdateProposalTemplate>
{
    public UpdateProposalTemplateValidator() =>
        RuleFor(x => x.Body.Markdown).NotEmpty().WithMessage("is required (send the built-in default to go back to it).")
            .MaximumLength(ProposalTemplate.MaxLength).WithMessage($"must be at most {ProposalTemplate.MaxLength:N0} characters.")
            .OverridePropertyName("markdown");
}

public sealed class UpdateProposalTemplateHandler(ITenantDbContext db, ICallerContext caller, TimeProvider clock)
    : ICommandHandler<UpdateProposalTemplate, Result<ProposalTemplateDto>>
{
    public async ValueTask<Result<ProposalTemplateDto>> Handle(UpdateProposalTemplate command, CancellationToken cancellationToken)
    {
        var template = await db.ProposalTemplates.FirstOrDefaultAsync(cancellationToken);
        if (template is null)
        {
            template = new ProposalTemplate { Markdown = command.Body.Markdown! };
            db.ProposalTemplates.Add(template);
        }

        template.Markdown = command.Body.Markdown!;
        template.UpdatedAt = clock.GetUtcNow();
        template.UpdatedBy = caller.UserId;
        await db.SaveChangesAsync(cancellationToken);
        return new ProposalTemplateDto(template.Markdown, false, template.UpdatedAt, template.UpdatedBy);
    }
}
