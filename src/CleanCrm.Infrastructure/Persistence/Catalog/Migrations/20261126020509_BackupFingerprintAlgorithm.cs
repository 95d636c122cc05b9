using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace CleanCrm.Infrastructure.Persistence.Catalog.Migrations
{
    /// <inheritdoc />
    public partial class BackupFingerprintAlgorithm : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<string>(
                name: "fingerprint_algorithm",
                table: "backups",
                type: "character varying(20)",
                maxLength: 20,
                nullable: false,
                defaultValue: "md5");

            // hand-written: existing backups were fingerprinted with md5; the default only fills them in.
            migrationBuilder.Sql("ALTER TABLE backups ALTER COLUMN fingerprint_algorithm DROP DEFAULT;");
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropColumn(
                name: "fingerprint_algorithm",
                table: "backups");
        }
    }
}
