using CleanCrm.Domain.Catalog;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace CleanCrm.Infrastructure.Persistence.Catalog.Configurations;

internal sealed class InvitationConfiguration : IEntityTypeConfiguration<Invitation>
{
    public void Configure(EntityTypeBuilder<Invitation> builder)
    {
        builder.ToTable("invitations", t => t.HasCheckConstraint("ck_invitations_token_hash", "token_hash ~ '^[0-9a-f]{64}$'"));
        builder.HasKey(i => i.Id);
        builder.Property(i => i.Email).HasMaxLength(254);
        builder.Property(i => i.NormalizedEmail).HasMaxLength(254);
        builder.Property(i => i.TokenHash).HasMaxLength(64).IsFixedLength();
        builder.HasIndex(i => i.TokenHash).IsUnique();
        builder.Property(i => i.Role).HasConversion(new LowercaseEnumConverter<OrgRole>()).HasMaxLength(20);

        // One open invitation per address and organization: re-inviting replaces its token.
        builder.HasIndex(i => new { i.OrganizationId, i.NormalizedEmail }).IsUnique()
            .HasFilter("accepted_at IS NULL AND revoked_at IS NULL").HasDatabaseName("ux_invitations_open_per_email");
        builder.HasOne<Organization>().WithMany().HasForeignKey(i => i.OrganizationId).OnDelete(DeleteBehavior.Cascade);
        builder.HasOne<UserAccount>().WithMany().HasForeignKey(i => i.InvitedByUserId).OnDelete(DeleteBehavior.SetNull);
        builder.HasOne<UserAccount>().WithMany().HasForeignKey(i => i.AcceptedByUserId).OnDelete(DeleteBehavior.SetNull);
    }
}

internal sealed class OutgoingEmailConfiguration : IEntityTypeConfiguration<OutgoingEmail>
{
    public void Configure(EntityTypeBuilder<OutgoingEmail> builder)
    {
        builder.ToTable("outgoing_emails");
        builder.HasKey(e => e.Id);
        builder.Property(e => e.Kind).HasMaxLength(40);
        builder.Property(e => e.ToAddress).HasMaxLength(254);
        builder.Property(e => e.Subject).HasMaxLength(300);
        builder.Property(e => e.LastError).HasMaxLength(1000);
        builder.Property(e => e.Status).HasConversion(new LowercaseEnumConverter<OutgoingEmailStatus>()).HasMaxLength(20);
        builder.HasIndex(e => new { e.Status, e.CreatedAt }).HasFilter("status = 'pending'").HasDatabaseName("ix_outgoing_emails_pending");
        builder.HasOne<Organization>().WithMany().HasForeignKey(e => e.OrganizationId).OnDelete(DeleteBehavior.SetNull);
    }
}
