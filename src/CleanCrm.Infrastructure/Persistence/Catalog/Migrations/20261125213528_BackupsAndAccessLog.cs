using System;
using Microsoft.EntityFrameworkCore.Migrations;
using Npgsql.EntityFrameworkCore.PostgreSQL.Metadata;

#nullable disable

namespace CleanCrm.Infrastructure.Persistence.Catalog.Migrations
{
    /// <inheritdoc />
    public partial class BackupsAndAccessLog : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.CreateTable(
                name: "backup_access_log",
                columns: table => new
                {
                    id = table.Column<long>(type: "bigint", nullable: false)
                        .Annotation("Npgsql:ValueGenerationStrategy", NpgsqlValueGenerationStrategy.IdentityAlwaysColumn),
                    organization_id = table.Column<Guid>(type: "uuid", nullable: false),
                    backup_id = table.Column<Guid>(type: "uuid", nullable: true),
                    user_id = table.Column<Guid>(type: "uuid", nullable: true),
                    by_platform_admin = table.Column<bool>(type: "boolean", nullable: false),
                    action = table.Column<string>(type: "character varying(20)", maxLength: 20, nullable: false),
                    occurred_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false),
                    client_address = table.Column<string>(type: "character varying(64)", maxLength: 64, nullable: true),
                    outcome = table.Column<string>(type: "character varying(500)", maxLength: 500, nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("pk_backup_access_log", x => x.id);
                });

            migrationBuilder.CreateTable(
                name: "backups",
                columns: table => new
                {
                    id = table.Column<Guid>(type: "uuid", nullable: false),
                    organization_id = table.Column<Guid>(type: "uuid", nullable: false),
                    database_server_id = table.Column<Guid>(type: "uuid", nullable: true),
                    database_name = table.Column<string>(type: "character varying(63)", maxLength: 63, nullable: false),
                    schema_version = table.Column<string>(type: "character varying(150)", maxLength: 150, nullable: true),
                    trigger = table.Column<string>(type: "character varying(20)", maxLength: 20, nullable: false),
                    status = table.Column<string>(type: "character varying(20)", maxLength: 20, nullable: false),
                    store = table.Column<string>(type: "character varying(20)", maxLength: 20, nullable: false),
                    location = table.Column<string>(type: "character varying(500)", maxLength: 500, nullable: true),
                    size_bytes = table.Column<long>(type: "bigint", nullable: true),
                    sha256 = table.Column<string>(type: "character(64)", fixedLength: true, maxLength: 64, nullable: true),
                    requested_by = table.Column<Guid>(type: "uuid", nullable: true),
                    queued_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false),
                    started_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: true),
                    finished_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: true),
                    pruned_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: true),
                    error = table.Column<string>(type: "character varying(2000)", maxLength: 2000, nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("pk_backups", x => x.id);
                    table.CheckConstraint("ck_backups_size", "size_bytes IS NULL OR size_bytes >= 0");
                    table.ForeignKey(
                        name: "fk_backups_database_servers_database_server_id",
                        column: x => x.database_server_id,
                        principalTable: "database_servers",
                        principalColumn: "id",
                        onDelete: ReferentialAction.Restrict);
                    table.ForeignKey(
                        name: "fk_backups_organizations_organization_id",
                        column: x => x.organization_id,
                        principalTable: "organizations",
                        principalColumn: "id",
                        onDelete: ReferentialAction.Restrict);
                });

            migrationBuilder.CreateTable(
                name: "backup_restores",
                columns: table => new
                {
                    id = table.Column<Guid>(type: "uuid", nullable: false),
                    backup_id = table.Column<Guid>(type: "uuid", nullable: false),
                    organization_id = table.Column<Guid>(type: "uuid", nullable: false),
                    target_server_id = table.Column<Guid>(type: "uuid", nullable: false),
                    database_name = table.Column<string>(type: "character varying(63)", maxLength: 63, nullable: false),
                    mode = table.Column<string>(type: "character varying(20)", maxLength: 20, nullable: false),
                    status = table.Column<string>(type: "character varying(20)", maxLength: 20, nullable: false),
                    previous_server_id = table.Column<Guid>(type: "uuid", nullable: true),
                    previous_database_name = table.Column<string>(type: "character varying(63)", maxLength: 63, nullable: true),
                    requested_by = table.Column<Guid>(type: "uuid", nullable: true),
                    requested_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false),
                    started_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: true),
                    finished_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: true),
                    confirmed_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: true),
                    error = table.Column<string>(type: "character varying(2000)", maxLength: 2000, nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("pk_backup_restores", x => x.id);
                    table.ForeignKey(
                        name: "fk_backup_restores_backups_backup_id",
                        column: x => x.backup_id,
                        principalTable: "backups",
                        principalColumn: "id",
                        onDelete: ReferentialAction.Restrict);
                    table.ForeignKey(
                        name: "fk_backup_restores_database_servers_target_server_id",
                        column: x => x.target_server_id,
                        principalTable: "database_servers",
                        principalColumn: "id",
                        onDelete: ReferentialAction.Restrict);
                    table.ForeignKey(
                        name: "fk_backup_restores_organizations_organization_id",
                        column: x => x.organization_id,
                        principalTable: "organizations",
                        principalColumn: "id",
                        onDelete: ReferentialAction.Restrict);
                });

            migrationBuilder.CreateTable(
                name: "backup_tables",
                columns: table => new
                {
                    backup_id = table.Column<Guid>(type: "uuid", nullable: false),
                    table_name = table.Column<string>(type: "character varying(63)", maxLength: 63, nullable: false),
                    row_count = table.Column<long>(type: "bigint", nullable: false),
                    content_hash = table.Column<string>(type: "character(32)", fixedLength: true, maxLength: 32, nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("pk_backup_tables", x => new { x.backup_id, x.table_name });
                    table.ForeignKey(
                        name: "fk_backup_tables_backups_backup_id",
                        column: x => x.backup_id,
                        principalTable: "backups",
                        principalColumn: "id",
                        onDelete: ReferentialAction.Cascade);
                });

            migrationBuilder.CreateIndex(
                name: "ix_backup_access_log_organization_id_id",
                table: "backup_access_log",
                columns: new[] { "organization_id", "id" });

            migrationBuilder.CreateIndex(
                name: "ix_backup_restores_backup_id",
                table: "backup_restores",
                column: "backup_id");

            migrationBuilder.CreateIndex(
                name: "ix_backup_restores_organization_id",
                table: "backup_restores",
                column: "organization_id");

            migrationBuilder.CreateIndex(
                name: "ix_backup_restores_target_server_id",
                table: "backup_restores",
                column: "target_server_id");

            migrationBuilder.CreateIndex(
                name: "ix_backups_database_server_id",
                table: "backups",
                column: "database_server_id");

            migrationBuilder.CreateIndex(
                name: "ix_backups_organization_id_queued_at",
                table: "backups",
                columns: new[] { "organization_id", "queued_at" });

            migrationBuilder.CreateIndex(
                name: "ix_backups_status_finished_at",
                table: "backups",
                columns: new[] { "status", "finished_at" });

            // hand-written: the backup access log is append-only; the database itself refuses changes and deletions.
            migrationBuilder.Sql("""
                CREATE FUNCTION cleancrm_refuse_access_log_change() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN
                    RAISE EXCEPTION 'backup_access_log is append-only: % is not allowed', TG_OP USING ERRCODE = 'insufficient_privilege';
                END $$;
                CREATE TRIGGER trg_backup_access_log_append_only BEFORE UPDATE OR DELETE ON backup_access_log
                    FOR EACH ROW EXECUTE FUNCTION cleancrm_refuse_access_log_change();
                CREATE TRIGGER trg_backup_access_log_no_truncate BEFORE TRUNCATE ON backup_access_log
                    FOR EACH STATEMENT EXECUTE FUNCTION cleancrm_refuse_access_log_change();
                """);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.Sql("DROP TRIGGER IF EXISTS trg_backup_access_log_append_only ON backup_access_log; DROP TRIGGER IF EXISTS trg_backup_access_log_no_truncate ON backup_access_log;");
            migrationBuilder.DropTable(
                name: "backup_access_log");

            migrationBuilder.DropTable(
                name: "backup_restores");

            migrationBuilder.DropTable(
                name: "backup_tables");

            migrationBuilder.DropTable(
                name: "backups");
            migrationBuilder.Sql("DROP FUNCTION IF EXISTS cleancrm_refuse_access_log_change();");
        }
    }
}
