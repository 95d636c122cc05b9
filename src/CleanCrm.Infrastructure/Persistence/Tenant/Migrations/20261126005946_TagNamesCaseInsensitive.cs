using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace CleanCrm.Infrastructure.Persistence.Tenant.Migrations
{
    /// <inheritdoc />
    public partial class TagNamesCaseInsensitive : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropIndex(
                name: "ux_tags_name_live",
                table: "tags");

            // hand-written: tag names are unique case-insensitively among live tags, in the database too (the
            // application's check alone let two concurrent creates of "VIP" and "vip" both succeed). Live duplicates
            // that such a race may have left are renamed "<name> (2)", … before the index is built, so no tenant's
            // migration fails on them.
            migrationBuilder.Sql(
                """
                UPDATE tags t SET name = left(t.name, 44) || ' (' || d.rn || ')', updated_at = now()
                FROM (SELECT id, row_number() OVER (PARTITION BY lower(name) ORDER BY created_at, id) AS rn FROM tags WHERE deleted_at IS NULL) d
                WHERE t.id = d.id AND d.rn > 1;
                CREATE UNIQUE INDEX ux_tags_name_live ON tags (lower(name)) WHERE deleted_at IS NULL;
                """);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            // hand-written
            migrationBuilder.Sql("DROP INDEX ux_tags_name_live;");

            migrationBuilder.CreateIndex(
                name: "ux_tags_name_live",
                table: "tags",
                column: "name",
                unique: true,
                filter: "deleted_at IS NULL");
        }
    }
}
