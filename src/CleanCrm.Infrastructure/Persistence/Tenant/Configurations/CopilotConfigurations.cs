using CleanCrm.Domain.Tenant;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace CleanCrm.Infrastructure.Persistence.Tenant.Configurations;

internal sealed class CopilotConversationConfiguration : IEntityTypeConfiguration<CopilotConversation>
{
    public void Configure(EntityTypeBuilder<CopilotConversation> builder)
    {
        builder.ToTable("copilot_conversations");
        builder.HasKey(c => c.Id);
        builder.Property(c => c.Title).HasMaxLength(200);
        builder.HasIndex(c => new { c.UserId, c.UpdatedAt });
        builder.HasMany(c => c.Messages).WithOne().HasForeignKey(m => m.ConversationId).OnDelete(DeleteBehavior.Cascade);
    }
}

internal sealed class CopilotMessageConfiguration : IEntityTypeConfiguration<CopilotMessage>
{
    public void Configure(EntityTypeBuilder<CopilotMessage> builder)
    {
        builder.ToTable("copilot_messages", t => t.HasCheckConstraint(
            "ck_copilot_messages_tokens", "input_tokens >= 0 AND output_tokens >= 0"));
        builder.HasKey(m => m.Id);
        builder.Property(m => m.Role).HasConversion(new LowercaseEnumConverter<CopilotMessageRole>()).HasMaxLength(20);
        builder.HasIndex(m => new { m.ConversationId, m.CreatedAt });
    }
}
