using System;
using Microsoft.EntityFrameworkCore.Migrations;
using Npgsql.EntityFrameworkCore.PostgreSQL.Metadata;

#nullable disable

#pragma warning disable CA1814 // Prefer jagged arrays over multidimensional

namespace CleanCrm.Infrastructure.Persistence.Catalog.Migrations
{
    /// <inheritdoc />
    public partial class InitialCatalog : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.CreateTable(
                name: "data_protection_keys",
                columns: table => new
                {
                    id = table.Column<int>(type: "integer", nullable: false)
                        .Annotation("Npgsql:ValueGenerationStrategy", NpgsqlValueGenerationStrategy.IdentityByDefaultColumn),
                    friendly_name = table.Column<string>(type: "text", nullable: true),
                    xml = table.Column<string>(type: "text", nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("pk_data_protection_keys", x => x.id);
                });

            migrationBuilder.CreateTable(
                name: "database_servers",
                columns: table => new
                {
                    id = table.Column<Guid>(type: "uuid", nullable: false),
                    name = table.Column<string>(type: "character varying(100)", maxLength: 100, nullable: false),
                    host = table.Column<string>(type: "character varying(255)", maxLength: 255, nullable: false),
                    port = table.Column<int>(type: "integer", nullable: false),
                    admin_username = table.Column<string>(type: "character varying(63)", maxLength: 63, nullable: false),
                    admin_secret_name = table.Column<string>(type: "character varying(127)", maxLength: 127, nullable: false),
                    capacity = table.Column<int>(type: "integer", nullable: false),
                    status = table.Column<string>(type: "character varying(20)", maxLength: 20, nullable: false),
                    created_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false),
                    updated_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("pk_database_servers", x => x.id);
                    table.CheckConstraint("ck_database_servers_capacity", "capacity >= 0");
                });

            migrationBuilder.CreateTable(
                name: "plans",
                columns: table => new
                {
                    key = table.Column<string>(type: "character varying(40)", maxLength: 40, nullable: false),
                    name = table.Column<string>(type: "character varying(100)", maxLength: 100, nullable: false),
                    seats = table.Column<int>(type: "integer", nullable: true),
                    ai_tokens_per_month = table.Column<long>(type: "bigint", nullable: true),
                    api_requests_per10seconds = table.Column<int>(type: "integer", nullable: false),
                    backup_retention_days = table.Column<int>(type: "integer", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("pk_plans", x => x.key);
                });

            migrationBuilder.CreateTable(
                name: "secrets",
                columns: table => new
                {
                    name = table.Column<string>(type: "character varying(127)", maxLength: 127, nullable: false),
                    protected_value = table.Column<string>(type: "text", nullable: false),
                    created_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false),
                    updated_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("pk_secrets", x => x.name);
                });

            migrationBuilder.CreateTable(
                name: "users",
                columns: table => new
                {
                    id = table.Column<Guid>(type: "uuid", nullable: false),
                    email = table.Column<string>(type: "character varying(254)", maxLength: 254, nullable: false),
                    normalized_email = table.Column<string>(type: "character varying(254)", maxLength: 254, nullable: false),
                    name = table.Column<string>(type: "character varying(200)", maxLength: 200, nullable: false),
                    is_platform_admin = table.Column<bool>(type: "boolean", nullable: false),
                    created_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("pk_users", x => x.id);
                });

            migrationBuilder.CreateTable(
                name: "organizations",
                columns: table => new
                {
                    id = table.Column<Guid>(type: "uuid", nullable: false),
                    slug = table.Column<string>(type: "character varying(40)", maxLength: 40, nullable: false),
                    name = table.Column<string>(type: "character varying(200)", maxLength: 200, nullable: false),
                    status = table.Column<string>(type: "character varying(20)", maxLength: 20, nullable: false),
                    plan_key = table.Column<string>(type: "character varying(40)", maxLength: 40, nullable: false),
                    database_server_id = table.Column<Guid>(type: "uuid", nullable: true),
                    database_name = table.Column<string>(type: "character varying(63)", maxLength: 63, nullable: false),
                    database_role = table.Column<string>(type: "character varying(63)", maxLength: 63, nullable: false),
                    schema_version = table.Column<string>(type: "character varying(150)", maxLength: 150, nullable: true),
                    created_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false),
                    updated_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false),
                    activated_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: true),
                    suspended_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: true),
                    xmin = table.Column<uint>(type: "xid", rowVersion: true, nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("pk_organizations", x => x.id);
                    table.CheckConstraint("ck_organizations_slug", "slug ~ '^[a-z][a-z0-9-]{2,39}$'");
                    table.ForeignKey(
                        name: "fk_organizations_database_servers_database_server_id",
                        column: x => x.database_server_id,
                        principalTable: "database_servers",
                        principalColumn: "id",
                        onDelete: ReferentialAction.Restrict);
                    table.ForeignKey(
                        name: "fk_organizations_plans_plan_key",
                        column: x => x.plan_key,
                        principalTable: "plans",
                        principalColumn: "key",
                        onDelete: ReferentialAction.Restrict);
                });

            migrationBuilder.CreateTable(
                name: "plan_features",
                columns: table => new
                {
                    plan_key = table.Column<string>(type: "character varying(40)", nullable: false),
                    feature_key = table.Column<string>(type: "character varying(60)", maxLength: 60, nullable: false),
                    enabled = table.Column<bool>(type: "boolean", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("pk_plan_features", x => new { x.plan_key, x.feature_key });
                    table.ForeignKey(
                        name: "fk_plan_features_plans_plan_key",
                        column: x => x.plan_key,
                        principalTable: "plans",
                        principalColumn: "key",
                        onDelete: ReferentialAction.Cascade);
                });

            migrationBuilder.CreateTable(
                name: "memberships",
                columns: table => new
                {
                    organization_id = table.Column<Guid>(type: "uuid", nullable: false),
                    user_id = table.Column<Guid>(type: "uuid", nullable: false),
                    role = table.Column<string>(type: "character varying(20)", maxLength: 20, nullable: false),
                    created_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false),
                    updated_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("pk_memberships", x => new { x.organization_id, x.user_id });
                    table.ForeignKey(
                        name: "fk_memberships_organizations_organization_id",
                        column: x => x.organization_id,
                        principalTable: "organizations",
                        principalColumn: "id",
                        onDelete: ReferentialAction.Cascade);
                    table.ForeignKey(
                        name: "fk_memberships_users_user_id",
                        column: x => x.user_id,
                        principalTable: "users",
                        principalColumn: "id",
                        onDelete: ReferentialAction.Cascade);
                });

            migrationBuilder.InsertData(
                table: "plans",
                columns: new[] { "key", "ai_tokens_per_month", "api_requests_per10seconds", "backup_retention_days", "name", "seats" },
                values: new object[,]
                {
                    { "enterprise", null, 250, 365, "Enterprise", null },
                    { "free", 0L, 100, 7, "Free", 1 },
                    { "pro", 100000L, 190, 30, "Pro", 5 }
                });

            migrationBuilder.InsertData(
                table: "plan_features",
                columns: new[] { "feature_key", "plan_key", "enabled" },
                values: new object[,]
                {
                    { "advanced_reporting", "enterprise", true },
                    { "ai_copilot", "enterprise", true },
                    { "calendar_sync", "enterprise", true },
                    { "proposals", "enterprise", true },
                    { "revenue_splitting", "enterprise", true },
                    { "slack_integration", "enterprise", true },
                    { "smart_tasks", "enterprise", true },
                    { "workflows", "enterprise", true },
                    { "advanced_reporting", "free", false },
                    { "ai_copilot", "free", false },
                    { "calendar_sync", "free", false },
                    { "proposals", "free", false },
                    { "revenue_splitting", "free", false },
                    { "slack_integration", "free", false },
                    { "smart_tasks", "free", false },
                    { "workflows", "free", false },
                    { "advanced_reporting", "pro", true },
                    { "ai_copilot", "pro", true },
                    { "calendar_sync", "pro", true },
                    { "proposals", "pro", true },
                    { "revenue_splitting", "pro", true },
                    { "slack_integration", "pro", true },
                    { "smart_tasks", "pro", true },
                    { "workflows", "pro", true }
                });

            migrationBuilder.CreateIndex(
                name: "ix_database_servers_host_port",
                table: "database_servers",
                columns: new[] { "host", "port" },
                unique: true);

            migrationBuilder.CreateIndex(
                name: "ix_database_servers_name",
                table: "database_servers",
                column: "name",
                unique: true);

            migrationBuilder.CreateIndex(
                name: "ix_memberships_user_id",
                table: "memberships",
                column: "user_id");

            migrationBuilder.CreateIndex(
                name: "ix_organizations_database_server_id",
                table: "organizations",
                column: "database_server_id");

            migrationBuilder.CreateIndex(
                name: "ix_organizations_plan_key",
                table: "organizations",
                column: "plan_key");

            migrationBuilder.CreateIndex(
                name: "ix_organizations_slug",
                table: "organizations",
                column: "slug",
                unique: true);

            migrationBuilder.CreateIndex(
                name: "ix_organizations_status",
                table: "organizations",
                column: "status");

            migrationBuilder.CreateIndex(
                name: "ix_users_normalized_email",
                table: "users",
                column: "normalized_email",
                unique: true);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "data_protection_keys");

            migrationBuilder.DropTable(
                name: "memberships");

            migrationBuilder.DropTable(
                name: "plan_features");

            migrationBuilder.DropTable(
                name: "secrets");

            migrationBuilder.DropTable(
                name: "organizations");

            migrationBuilder.DropTable(
                name: "users");

            migrationBuilder.DropTable(
                name: "database_servers");

            migrationBuilder.DropTable(
                name: "plans");
        }
    }
}
