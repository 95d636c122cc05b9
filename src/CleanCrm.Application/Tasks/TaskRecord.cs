using CleanCrm.Application.Common.Crm;
using CleanCrm.Domain.Tenant;

namespace CleanCrm.Application.Tasks;

/// <summary>How tasks are written and read by the shared record handlers.</summary>
internal static class TaskRecord
{
    public static readonly CrmRecordType<CrmTask, TaskFields, TaskDto> Type = new()
    {
        Resource = "Task",
        Rows = db => db.Tasks,
        New = fields => new CrmTask { Title = fields.Title! },
        Read = TaskFields.From,
        Validator = new TaskFieldsValidator(),
        Check = async (db, fields, current, ct) =>
            await AttachmentRules.CheckAsync(db, fields, current, ct)
            ?? (fields.AssigneeId != current?.AssigneeId
                ? await CrmReferences.CheckMemberAsync(db, fields.AssigneeId, "assigneeId", ct)
                : null),
        Apply = (fields, task, stamp) => fields.ApplyTo(task, stamp),
        ToDto = TaskDto.From,
    };
}
