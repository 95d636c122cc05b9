using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace CleanCrm.Infrastructure.Persistence.Catalog.Migrations
{
    /// <inheritdoc />
    public partial class EnterpriseSsoProviders : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.CreateTable(
                name: "organization_identity_providers",
                columns: table => new
                {
                    id = table.Column<Guid>(type: "uuid", nullable: false),
                    organization_id = table.Column<Guid>(type: "uuid", nullable: false),
                    display_name = table.Column<string>(type: "character varying(100)", maxLength: 100, nullable: false),
                    issuer = table.Column<string>(type: "character varying(300)", maxLength: 300, nullable: false),
                    client_id = table.Column<string>(type: "character varying(200)", maxLength: 200, nullable: false),
                    client_secret_name = table.Column<string>(type: "character varying(127)", maxLength: 127, nullable: false),
                    enforce = table.Column<bool>(type: "boolean", nullable: false),
                    jit_provisioning = table.Column<bool>(type: "boolean", nullable: false),
                    default_role = table.Column<string>(type: "character varying(20)", maxLength: 20, nullable: false),
                    created_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false),
                    updated_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("pk_organization_identity_providers", x => x.id);
                    table.ForeignKey(
                        name: "fk_organization_identity_providers_organizations_organization_",
                        column: x => x.organization_id,
                        principalTable: "organizations",
                        principalColumn: "id",
                        onDelete: ReferentialAction.Cascade);
                });

            migrationBuilder.CreateTable(
                name: "identity_provider_domains",
                columns: table => new
                {
                    domain = table.Column<string>(type: "character varying(253)", maxLength: 253, nullable: false),
                    provider_id = table.Column<Guid>(type: "uuid", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("pk_identity_provider_domains", x => x.domain);
                    table.ForeignKey(
                        name: "fk_identity_provider_domains_organization_identity_providers_p",
                        column: x => x.provider_id,
                        principalTable: "organization_identity_providers",
                        principalColumn: "id",
                        onDelete: ReferentialAction.Cascade);
                });

            migrationBuilder.CreateIndex(
                name: "ix_identity_provider_domains_provider_id",
                table: "identity_provider_domains",
                column: "provider_id");

            migrationBuilder.CreateIndex(
                name: "ix_organization_identity_providers_organization_id",
                table: "organization_identity_providers",
                column: "organization_id",
                unique: true);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "identity_provider_domains");

            migrationBuilder.DropTable(
                name: "organization_identity_providers");
        }
    }
}
