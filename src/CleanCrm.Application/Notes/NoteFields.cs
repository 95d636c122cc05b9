using CleanCrm.Application.Common.Crm;
using CleanCrm.Domain.Tenant;
using FluentValidation;

namespace CleanCrm.Application.Notes;

public sealed record NoteFields : IAttachmentFields
{
    public string? Body { get; init; }

    public bool? Pinned { get; init; }

    public Guid? CompanyId { get; init; }

    public Guid? ContactId { get; init; }

    public Guid? DealId { get; init; }

    public static NoteFields From(Note n) =>
        new() { Body = n.Body, Pinned = n.Pinned, CompanyId = n.CompanyId, ContactId = n.ContactId, DealId = n.DealId };

    public void ApplyTo(Note note)
    {
        note.Body = Body!;
        note.Pinned = Pinned ?? false;
        this.ApplyTo((AttachedEntity)note);
    }
}

public sealed class NoteFieldsValidator : AbstractValidator<NoteFields>
{
    public NoteFieldsValidator()
    {
        RuleFor(x => x.Body).NotEmpty().WithMessage("is required.")
            .MaximumLength(100_000).WithMessage("must be at most 100,000 characters.");
        this.AddAttachmentRules();
    }
}
