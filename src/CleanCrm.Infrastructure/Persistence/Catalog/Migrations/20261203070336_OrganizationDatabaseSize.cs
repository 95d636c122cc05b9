using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace CleanCrm.Infrastructure.Persistence.Catalog.Migrations
{
    /// <inheritdoc />
    public partial class OrganizationDatabaseSize : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<long>(
                name: "database_size_bytes",
                table: "organizations",
                type: "bigint",
                nullable: true);

            migrationBuilder.AddColumn<DateTimeOffset>(
                name: "database_size_measured_at",
                table: "organizations",
                type: "timestamp with time zone",
                nullable: true);

            // The hourly size job updates every organization; those updates must not make every process drop its
            // cached view of every organization, so the change notification ignores rows where only the size changed.
            migrationBuilder.Sql("""
                DROP TRIGGER IF EXISTS trg_organizations_notify ON organizations;
                CREATE TRIGGER trg_organizations_notify AFTER UPDATE ON organizations FOR EACH ROW
                    WHEN ((to_jsonb(OLD.*) - 'database_size_bytes' - 'database_size_measured_at')
                          IS DISTINCT FROM (to_jsonb(NEW.*) - 'database_size_bytes' - 'database_size_measured_at'))
                    EXECUTE FUNCTION cleancrm_notify_organization_change();
                CREATE TRIGGER trg_organizations_notify_delete AFTER DELETE ON organizations FOR EACH ROW
                    EXECUTE FUNCTION cleancrm_notify_organization_change();
                """);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.Sql("""
                DROP TRIGGER IF EXISTS trg_organizations_notify_delete ON organizations;
                DROP TRIGGER IF EXISTS trg_organizations_notify ON organizations;
                CREATE TRIGGER trg_organizations_notify AFTER UPDATE OR DELETE ON organizations
                    FOR EACH ROW EXECUTE FUNCTION cleancrm_notify_organization_change();
                """);

            migrationBuilder.DropColumn(
                name: "database_size_bytes",
                table: "organizations");

            migrationBuilder.DropColumn(
                name: "database_size_measured_at",
                table: "organizations");
        }
    }
}
