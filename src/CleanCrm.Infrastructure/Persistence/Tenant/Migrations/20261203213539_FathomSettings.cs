using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace CleanCrm.Infrastructure.Persistence.Tenant.Migrations
{
    /// <inheritdoc />
    public partial class FathomSettings : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.CreateTable(
                name: "fathom_settings",
                columns: table => new
                {
                    id = table.Column<int>(type: "integer", nullable: false),
                    create_contacts = table.Column<bool>(type: "boolean", nullable: false),
                    updated_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false),
                    updated_by = table.Column<Guid>(type: "uuid", nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("pk_fathom_settings", x => x.id);
                    table.CheckConstraint("ck_fathom_settings_singleton", "id = 1");
                });
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "fathom_settings");
        }
    }
}
