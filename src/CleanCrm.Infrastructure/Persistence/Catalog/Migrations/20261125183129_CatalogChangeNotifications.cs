using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace CleanCrm.Infrastructure.Persistence.Catalog.Migrations
{
    /// <inheritdoc />
    public partial class CatalogChangeNotifications : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            // Every API/worker process LISTENs on this channel and drops its cached view of the org or membership.
            migrationBuilder.Sql("""
                CREATE FUNCTION cleancrm_notify_organization_change() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN
                    PERFORM pg_notify('cleancrm_catalog_changes', 'org:' || COALESCE(NEW.id, OLD.id)::text);
                    RETURN NULL;
                END $$;
                CREATE TRIGGER trg_organizations_notify AFTER UPDATE OR DELETE ON organizations
                    FOR EACH ROW EXECUTE FUNCTION cleancrm_notify_organization_change();

                CREATE FUNCTION cleancrm_notify_membership_change() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN
                    PERFORM pg_notify('cleancrm_catalog_changes', 'member:' || COALESCE(NEW.organization_id, OLD.organization_id)::text || ':' || COALESCE(NEW.user_id, OLD.user_id)::text);
                    RETURN NULL;
                END $$;
                CREATE TRIGGER trg_memberships_notify AFTER INSERT OR UPDATE OR DELETE ON memberships
                    FOR EACH ROW EXECUTE FUNCTION cleancrm_notify_membership_change();
                """);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.Sql("""
                DROP TRIGGER IF EXISTS trg_memberships_notify ON memberships;
                DROP FUNCTION IF EXISTS cleancrm_notify_membership_change();
                DROP TRIGGER IF EXISTS trg_organizations_notify ON organizations;
                DROP FUNCTION IF EXISTS cleancrm_notify_organization_change();
                """);
        }
    }
}
