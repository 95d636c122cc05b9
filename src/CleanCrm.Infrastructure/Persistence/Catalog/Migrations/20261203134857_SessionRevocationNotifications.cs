using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace CleanCrm.Infrastructure.Persistence.Catalog.Migrations
{
    /// <inheritdoc />
    public partial class SessionRevocationNotifications : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            // hand-written: a revoked session reaches every instance's revocation list through the catalog channel at once
            // (the periodic refresh stays as the safety net).
            migrationBuilder.Sql("""
                CREATE FUNCTION cleancrm_notify_session_revocation() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN
                    PERFORM pg_notify('cleancrm_catalog_changes', 'revocation:' || NEW.user_id::text);
                    RETURN NULL;
                END $$;
                CREATE TRIGGER trg_session_revocations_notify AFTER INSERT OR UPDATE ON session_revocations
                    FOR EACH ROW EXECUTE FUNCTION cleancrm_notify_session_revocation();
                """);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            // hand-written
            migrationBuilder.Sql("""
                DROP TRIGGER IF EXISTS trg_session_revocations_notify ON session_revocations;
                DROP FUNCTION IF EXISTS cleancrm_notify_session_revocation();
                """);
        }
    }
}
