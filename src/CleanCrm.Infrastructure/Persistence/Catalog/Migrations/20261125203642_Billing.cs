using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace CleanCrm.Infrastructure.Persistence.Catalog.Migrations
{
    /// <inheritdoc />
    public partial class Billing : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.CreateTable(
                name: "feature_overrides",
                columns: table => new
                {
                    organization_id = table.Column<Guid>(type: "uuid", nullable: false),
                    feature_key = table.Column<string>(type: "character varying(60)", maxLength: 60, nullable: false),
                    enabled = table.Column<bool>(type: "boolean", nullable: false),
                    expires_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: true),
                    updated_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("pk_feature_overrides", x => new { x.organization_id, x.feature_key });
                    table.ForeignKey(
                        name: "fk_feature_overrides_organizations_organization_id",
                        column: x => x.organization_id,
                        principalTable: "organizations",
                        principalColumn: "id",
                        onDelete: ReferentialAction.Cascade);
                });

            migrationBuilder.CreateTable(
                name: "limit_overrides",
                columns: table => new
                {
                    organization_id = table.Column<Guid>(type: "uuid", nullable: false),
                    seats = table.Column<int>(type: "integer", nullable: true),
                    ai_tokens_per_month = table.Column<long>(type: "bigint", nullable: true),
                    api_requests_per10seconds = table.Column<int>(type: "integer", nullable: true),
                    backup_retention_days = table.Column<int>(type: "integer", nullable: true),
                    updated_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("pk_limit_overrides", x => x.organization_id);
                    table.CheckConstraint("ck_limit_overrides_ai_tokens", "ai_tokens_per_month IS NULL OR ai_tokens_per_month >= 0");
                    table.CheckConstraint("ck_limit_overrides_api_requests", "api_requests_per10seconds IS NULL OR api_requests_per10seconds > 0");
                    table.CheckConstraint("ck_limit_overrides_backup_retention", "backup_retention_days IS NULL OR backup_retention_days > 0");
                    table.CheckConstraint("ck_limit_overrides_seats", "seats IS NULL OR seats >= 0");
                    table.ForeignKey(
                        name: "fk_limit_overrides_organizations_organization_id",
                        column: x => x.organization_id,
                        principalTable: "organizations",
                        principalColumn: "id",
                        onDelete: ReferentialAction.Cascade);
                });

            migrationBuilder.CreateTable(
                name: "subscriptions",
                columns: table => new
                {
                    organization_id = table.Column<Guid>(type: "uuid", nullable: false),
                    stripe_customer_id = table.Column<string>(type: "character varying(255)", maxLength: 255, nullable: true),
                    stripe_subscription_id = table.Column<string>(type: "character varying(255)", maxLength: 255, nullable: true),
                    status = table.Column<string>(type: "character varying(30)", maxLength: 30, nullable: false),
                    plan_key = table.Column<string>(type: "character varying(40)", maxLength: 40, nullable: true),
                    requested_plan_key = table.Column<string>(type: "character varying(40)", maxLength: 40, nullable: true),
                    quantity = table.Column<int>(type: "integer", nullable: true),
                    current_period_start = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: true),
                    current_period_end = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: true),
                    cancel_at_period_end = table.Column<bool>(type: "boolean", nullable: false),
                    trial_ends_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: true),
                    past_due_since = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: true),
                    suspended_for_non_payment = table.Column<bool>(type: "boolean", nullable: false),
                    last_event_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: true),
                    updated_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("pk_subscriptions", x => x.organization_id);
                    table.ForeignKey(
                        name: "fk_subscriptions_organizations_organization_id",
                        column: x => x.organization_id,
                        principalTable: "organizations",
                        principalColumn: "id",
                        onDelete: ReferentialAction.Cascade);
                });

            migrationBuilder.CreateTable(
                name: "usage_rollups",
                columns: table => new
                {
                    id = table.Column<Guid>(type: "uuid", nullable: false),
                    organization_id = table.Column<Guid>(type: "uuid", nullable: false),
                    metric = table.Column<string>(type: "character varying(40)", maxLength: 40, nullable: false),
                    period_start = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false),
                    period_end = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false),
                    quantity = table.Column<long>(type: "bigint", nullable: false),
                    reported_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("pk_usage_rollups", x => x.id);
                    table.CheckConstraint("ck_usage_rollups_quantity", "quantity >= 0");
                    table.ForeignKey(
                        name: "fk_usage_rollups_organizations_organization_id",
                        column: x => x.organization_id,
                        principalTable: "organizations",
                        principalColumn: "id",
                        onDelete: ReferentialAction.Cascade);
                });

            migrationBuilder.CreateTable(
                name: "webhook_events",
                columns: table => new
                {
                    provider = table.Column<string>(type: "character varying(20)", maxLength: 20, nullable: false),
                    event_id = table.Column<string>(type: "character varying(255)", maxLength: 255, nullable: false),
                    type = table.Column<string>(type: "character varying(100)", maxLength: 100, nullable: false),
                    organization_id = table.Column<Guid>(type: "uuid", nullable: true),
                    created_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false),
                    received_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("pk_webhook_events", x => new { x.provider, x.event_id });
                });

            migrationBuilder.CreateTable(
                name: "usage_events",
                columns: table => new
                {
                    id = table.Column<Guid>(type: "uuid", nullable: false),
                    organization_id = table.Column<Guid>(type: "uuid", nullable: false),
                    metric = table.Column<string>(type: "character varying(40)", maxLength: 40, nullable: false),
                    quantity = table.Column<long>(type: "bigint", nullable: false),
                    idempotency_key = table.Column<string>(type: "character varying(200)", maxLength: 200, nullable: false),
                    rollup_id = table.Column<Guid>(type: "uuid", nullable: false),
                    occurred_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("pk_usage_events", x => x.id);
                    table.CheckConstraint("ck_usage_events_quantity", "quantity > 0");
                    table.ForeignKey(
                        name: "fk_usage_events_organizations_organization_id",
                        column: x => x.organization_id,
                        principalTable: "organizations",
                        principalColumn: "id",
                        onDelete: ReferentialAction.Cascade);
                    table.ForeignKey(
                        name: "fk_usage_events_usage_rollups_rollup_id",
                        column: x => x.rollup_id,
                        principalTable: "usage_rollups",
                        principalColumn: "id",
                        onDelete: ReferentialAction.Cascade);
                });

            migrationBuilder.CreateIndex(
                name: "ix_subscriptions_past_due_since",
                table: "subscriptions",
                column: "past_due_since",
                filter: "past_due_since IS NOT NULL");

            migrationBuilder.CreateIndex(
                name: "ix_subscriptions_stripe_customer_id",
                table: "subscriptions",
                column: "stripe_customer_id",
                unique: true);

            migrationBuilder.CreateIndex(
                name: "ix_subscriptions_stripe_subscription_id",
                table: "subscriptions",
                column: "stripe_subscription_id",
                unique: true);

            migrationBuilder.CreateIndex(
                name: "ix_usage_events_organization_id_idempotency_key",
                table: "usage_events",
                columns: new[] { "organization_id", "idempotency_key" },
                unique: true);

            migrationBuilder.CreateIndex(
                name: "ix_usage_events_rollup_id",
                table: "usage_events",
                column: "rollup_id");

            migrationBuilder.CreateIndex(
                name: "ix_usage_rollups_organization_id_metric_period_start",
                table: "usage_rollups",
                columns: new[] { "organization_id", "metric", "period_start" },
                unique: true);

            migrationBuilder.CreateIndex(
                name: "ix_usage_rollups_period_end",
                table: "usage_rollups",
                column: "period_end",
                filter: "reported_at IS NULL");

            migrationBuilder.CreateIndex(
                name: "ix_webhook_events_organization_id",
                table: "webhook_events",
                column: "organization_id");

            // hand-written: admin overrides reach every API instance's feature/limit cache through the catalog channel.
            migrationBuilder.Sql("""
                CREATE FUNCTION cleancrm_notify_billing_override_change() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN
                    PERFORM pg_notify('cleancrm_catalog_changes', 'org:' || COALESCE(NEW.organization_id, OLD.organization_id)::text);
                    RETURN NULL;
                END $$;
                CREATE TRIGGER trg_feature_overrides_notify AFTER INSERT OR UPDATE OR DELETE ON feature_overrides
                    FOR EACH ROW EXECUTE FUNCTION cleancrm_notify_billing_override_change();
                CREATE TRIGGER trg_limit_overrides_notify AFTER INSERT OR UPDATE OR DELETE ON limit_overrides
                    FOR EACH ROW EXECUTE FUNCTION cleancrm_notify_billing_override_change();
                """);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            // hand-written
            migrationBuilder.Sql("""
                DROP TRIGGER IF EXISTS trg_limit_overrides_notify ON limit_overrides;
                DROP TRIGGER IF EXISTS trg_feature_overrides_notify ON feature_overrides;
                DROP FUNCTION IF EXISTS cleancrm_notify_billing_override_change();
                """);

            migrationBuilder.DropTable(
                name: "feature_overrides");

            migrationBuilder.DropTable(
                name: "limit_overrides");

            migrationBuilder.DropTable(
                name: "subscriptions");

            migrationBuilder.DropTable(
                name: "usage_events");

            migrationBuilder.DropTable(
                name: "webhook_events");

            migrationBuilder.DropTable(
                name: "usage_rollups");
        }
    }
}
