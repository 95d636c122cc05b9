using CleanCrm.Domain.Tenant;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace CleanCrm.Infrastructure.Persistence.Tenant.Configurations;

internal sealed class ProposalConfiguration : IEntityTypeConfiguration<Proposal>
{
    public void Configure(EntityTypeBuilder<Proposal> builder)
    {
        builder.ToTable("proposals", t => t.HasCheckConstraint(
            "ck_proposals_tokens", "input_tokens >= 0 AND output_tokens >= 0 AND attempts >= 0"));
        builder.HasKey(p => p.Id);
        builder.Property(p => p.Status).HasConversion(new LowercaseEnumConverter<ProposalStatus>()).HasMaxLength(20);
        builder.Property(p => p.Instructions).HasMaxLength(Proposal.MaxInstructionsLength);
        builder.Property(p => p.Error).HasMaxLength(500);
        builder.HasOne<Deal>().WithMany().HasForeignKey(p => p.DealId).OnDelete(DeleteBehavior.Cascade);
        builder.HasIndex(p => new { p.DealId, p.CreatedAt });
    }
}

internal sealed class ProposalTemplateConfiguration : IEntityTypeConfiguration<ProposalTemplate>
{
    public void Configure(EntityTypeBuilder<ProposalTemplate> builder)
    {
        builder.ToTable("proposal_templates",
            t => t.HasCheckConstraint("ck_proposal_templates_singleton", $"id = {ProposalTemplate.SingletonId}"));
        builder.HasKey(t => t.Id);
        builder.Property(t => t.Id).ValueGeneratedNever();
        builder.Property(t => t.Markdown).HasMaxLength(ProposalTemplate.MaxLength);
    }
}
