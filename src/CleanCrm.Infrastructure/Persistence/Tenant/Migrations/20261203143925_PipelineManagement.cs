using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace CleanCrm.Infrastructure.Persistence.Tenant.Migrations
{
    /// <inheritdoc />
    public partial class PipelineManagement : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropIndex(
                name: "ux_pipelines_one_default",
                table: "pipelines");

            migrationBuilder.DropIndex(
                name: "ix_pipeline_stages_pipeline_id_position",
                table: "pipeline_stages");

            migrationBuilder.AddColumn<Guid>(
                name: "created_by",
                table: "pipelines",
                type: "uuid",
                nullable: true);

            migrationBuilder.AddColumn<Guid>(
                name: "updated_by",
                table: "pipelines",
                type: "uuid",
                nullable: true);

            migrationBuilder.AddColumn<DateTimeOffset>(
                name: "created_at",
                table: "pipeline_stages",
                type: "timestamp with time zone",
                nullable: false,
                defaultValueSql: "now()");

            migrationBuilder.AddColumn<Guid>(
                name: "created_by",
                table: "pipeline_stages",
                type: "uuid",
                nullable: true);

            migrationBuilder.AddColumn<DateTimeOffset>(
                name: "deleted_at",
                table: "pipeline_stages",
                type: "timestamp with time zone",
                nullable: true);

            migrationBuilder.AddColumn<DateTimeOffset>(
                name: "updated_at",
                table: "pipeline_stages",
                type: "timestamp with time zone",
                nullable: false,
                defaultValueSql: "now()");

            migrationBuilder.AddColumn<Guid>(
                name: "updated_by",
                table: "pipeline_stages",
                type: "uuid",
                nullable: true);

            migrationBuilder.AddColumn<uint>(
                name: "xmin",
                table: "pipeline_stages",
                type: "xid",
                rowVersion: true,
                nullable: false,
                defaultValue: 0u);

            migrationBuilder.CreateIndex(
                name: "ix_pipelines_created_at",
                table: "pipelines",
                column: "created_at");

            migrationBuilder.CreateIndex(
                name: "ix_pipeline_stages_created_at",
                table: "pipeline_stages",
                column: "created_at");

            // Positions stay unique per pipeline, but checked at commit, so a reorder can swap them in one transaction.
            // The model knows this as a plain index of the same name (see PipelineStageConfiguration).
            migrationBuilder.Sql(
                "ALTER TABLE pipeline_stages ADD CONSTRAINT ix_pipeline_stages_pipeline_id_position "
                + "UNIQUE (pipeline_id, position) DEFERRABLE INITIALLY DEFERRED;");

            // One live default pipeline, checked at commit: handing the default over is one transaction. A partial unique
            // index cannot be deferred; an exclusion constraint with a predicate can.
            migrationBuilder.Sql(
                "ALTER TABLE pipelines ADD CONSTRAINT ux_pipelines_one_default EXCLUDE (is_default WITH =) "
                + "WHERE (is_default AND deleted_at IS NULL) DEFERRABLE INITIALLY DEFERRED;");

            // Pipeline names are unique among live pipelines, whatever their case (EF cannot model an expression index).
            migrationBuilder.Sql(
                "CREATE UNIQUE INDEX ux_pipelines_name ON pipelines (lower(name)) WHERE deleted_at IS NULL;");
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.Sql("DROP INDEX ux_pipelines_name;");
            migrationBuilder.Sql("ALTER TABLE pipelines DROP CONSTRAINT ux_pipelines_one_default;");
            migrationBuilder.Sql("ALTER TABLE pipeline_stages DROP CONSTRAINT ix_pipeline_stages_pipeline_id_position;");

            migrationBuilder.DropIndex(
                name: "ix_pipelines_created_at",
                table: "pipelines");

            migrationBuilder.DropIndex(
                name: "ix_pipeline_stages_created_at",
                table: "pipeline_stages");

            migrationBuilder.DropColumn(
                name: "created_by",
                table: "pipelines");

            migrationBuilder.DropColumn(
                name: "updated_by",
                table: "pipelines");

            migrationBuilder.DropColumn(
                name: "created_at",
                table: "pipeline_stages");

            migrationBuilder.DropColumn(
                name: "created_by",
                table: "pipeline_stages");

            migrationBuilder.DropColumn(
                name: "deleted_at",
                table: "pipeline_stages");

            migrationBuilder.DropColumn(
                name: "updated_at",
                table: "pipeline_stages");

            migrationBuilder.DropColumn(
                name: "updated_by",
                table: "pipeline_stages");

            migrationBuilder.DropColumn(
                name: "xmin",
                table: "pipeline_stages");

            migrationBuilder.CreateIndex(
                name: "ux_pipelines_one_default",
                table: "pipelines",
                column: "is_default",
                unique: true,
                filter: "is_default AND deleted_at IS NULL");

            migrationBuilder.CreateIndex(
                name: "ix_pipeline_stages_pipeline_id_position",
                table: "pipeline_stages",
                columns: new[] { "pipeline_id", "position" },
                unique: true);
        }
    }
}
