using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace CleanCrm.Infrastructure.Persistence.Tenant.Migrations
{
    /// <inheritdoc />
    public partial class UploadChunksUncompressed : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            // hand-written: uploaded CSV chunks live minutes (deleted by the import) and are read back once, so pglz
            // compressing 1 MiB of text on the way in and inflating it on the way out is CPU spent for nothing.
            migrationBuilder.Sql("ALTER TABLE import_upload_chunks ALTER COLUMN data SET STORAGE EXTERNAL;");
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            // hand-written
            migrationBuilder.Sql("ALTER TABLE import_upload_chunks ALTER COLUMN data SET STORAGE EXTENDED;");
        }
    }
}
