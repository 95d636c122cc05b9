using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace CleanCrm.Infrastructure.Persistence.Catalog.Migrations
{
    /// <inheritdoc />
    public partial class PlatformAuditLogAndSupportSessions : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.CreateTable(
                name: "platform_audit_log",
                columns: table => new
                {
                    id = table.Column<Guid>(type: "uuid", nullable: false),
                    occurred_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false),
                    actor_user_id = table.Column<Guid>(type: "uuid", nullable: true),
                    actor_email = table.Column<string>(type: "character varying(320)", maxLength: 320, nullable: true),
                    channel = table.Column<string>(type: "character varying(20)", maxLength: 20, nullable: false),
                    ip_address = table.Column<string>(type: "character varying(64)", maxLength: 64, nullable: true),
                    user_agent = table.Column<string>(type: "character varying(300)", maxLength: 300, nullable: true),
                    action = table.Column<string>(type: "character varying(100)", maxLength: 100, nullable: false),
                    organization_id = table.Column<Guid>(type: "uuid", nullable: true),
                    target_id = table.Column<Guid>(type: "uuid", nullable: true),
                    reason = table.Column<string>(type: "character varying(500)", maxLength: 500, nullable: true),
                    outcome = table.Column<string>(type: "character varying(20)", maxLength: 20, nullable: false),
                    error = table.Column<string>(type: "character varying(100)", maxLength: 100, nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("pk_platform_audit_log", x => x.id);
                    table.CheckConstraint("ck_platform_audit_log_outcome", "outcome IN ('succeeded', 'failed')");
                });

            migrationBuilder.CreateTable(
                name: "support_sessions",
                columns: table => new
                {
                    id = table.Column<Guid>(type: "uuid", nullable: false),
                    organization_id = table.Column<Guid>(type: "uuid", nullable: false),
                    admin_user_id = table.Column<Guid>(type: "uuid", nullable: false),
                    reason = table.Column<string>(type: "character varying(500)", maxLength: 500, nullable: false),
                    started_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false),
                    expires_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false),
                    revoked_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: true),
                    revoked_by = table.Column<Guid>(type: "uuid", nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("pk_support_sessions", x => x.id);
                    table.CheckConstraint("ck_support_sessions_window", "expires_at > started_at AND expires_at <= started_at + interval '60 minutes'");
                    table.ForeignKey(
                        name: "fk_support_sessions_organizations_organization_id",
                        column: x => x.organization_id,
                        principalTable: "organizations",
                        principalColumn: "id",
                        onDelete: ReferentialAction.Restrict);
                    table.ForeignKey(
                        name: "fk_support_sessions_users_admin_user_id",
                        column: x => x.admin_user_id,
                        principalTable: "users",
                        principalColumn: "id",
                        onDelete: ReferentialAction.Restrict);
                });

            migrationBuilder.CreateIndex(
                name: "ix_platform_audit_log_actor_user_id_occurred_at",
                table: "platform_audit_log",
                columns: new[] { "actor_user_id", "occurred_at" });

            migrationBuilder.CreateIndex(
                name: "ix_platform_audit_log_occurred_at_id",
                table: "platform_audit_log",
                columns: new[] { "occurred_at", "id" });

            migrationBuilder.CreateIndex(
                name: "ix_platform_audit_log_organization_id_occurred_at",
                table: "platform_audit_log",
                columns: new[] { "organization_id", "occurred_at" });

            migrationBuilder.CreateIndex(
                name: "ix_support_sessions_admin_user_id_started_at",
                table: "support_sessions",
                columns: new[] { "admin_user_id", "started_at" });

            migrationBuilder.CreateIndex(
                name: "ix_support_sessions_organization_id_started_at",
                table: "support_sessions",
                columns: new[] { "organization_id", "started_at" });

            // hand-written: the platform audit log is append-only; the database itself refuses changes and deletions.
            migrationBuilder.Sql("""
                CREATE FUNCTION cleancrm_refuse_platform_audit_change() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN
                    RAISE EXCEPTION 'platform_audit_log is append-only: % is not allowed', TG_OP USING ERRCODE = 'insufficient_privilege';
                END $$;
                CREATE TRIGGER trg_platform_audit_log_append_only BEFORE UPDATE OR DELETE ON platform_audit_log
                    FOR EACH ROW EXECUTE FUNCTION cleancrm_refuse_platform_audit_change();
                CREATE TRIGGER trg_platform_audit_log_no_truncate BEFORE TRUNCATE ON platform_audit_log
                    FOR EACH STATEMENT EXECUTE FUNCTION cleancrm_refuse_platform_audit_change();
                """);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.Sql("DROP TRIGGER IF EXISTS trg_platform_audit_log_append_only ON platform_audit_log; DROP TRIGGER IF EXISTS trg_platform_audit_log_no_truncate ON platform_audit_log;");
            migrationBuilder.DropTable(
                name: "platform_audit_log");

            migrationBuilder.DropTable(
                name: "support_sessions");
            migrationBuilder.Sql("DROP FUNCTION IF EXISTS cleancrm_refuse_platform_audit_change();");
        }
    }
}
