using CleanCrm.Application.Common.Crm;
using CleanCrm.Application.Common.Results;
using CleanCrm.Domain.Tenant;

namespace CleanCrm.Application.Activities;

/// <summary>How activities are written and read by the shared record handlers; (source, externalId) is unique among live ones.</summary>
internal static class ActivityRecord
{
    public static readonly CrmRecordType<CrmActivity, ActivityFields, ActivityDto> Type = new()
    {
        Resource = "Activity",
        Rows = db => db.Activities,
        New = fields => new CrmActivity { Type = fields.Type! },
        Read = ActivityFields.From,
        Validator = new ActivityFieldsValidator(),
        Check = async (db, fields, current, ct) =>
            await AttachmentRules.CheckAsync(db, fields, current, ct)
            ?? (fields.ActorId != current?.ActorId ? await CrmReferences.CheckMemberAsync(db, fields.ActorId, "actorId", ct) : null),
        Apply = (fields, activity, stamp) => fields.ApplyTo(activity, stamp),
        ToDto = ActivityDto.From,
        Unique = new("ux_activities_external_live", ExternalIdTaken),
    };

    private static Error ExternalIdTaken(ActivityFields fields) => CrmRecords.Duplicate(
        "externalId",
        $"An activity from source '{fields.Source}' with externalId '{fields.ExternalId}' already exists.",
        "is already used by another activity of this source.");
}
