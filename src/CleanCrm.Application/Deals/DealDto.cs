using System.Text.Json.Serialization;
using CleanCrm.Domain.Tenant;

namespace CleanCrm.Application.Deals;

/// <summary>A deal as the API returns it (docs/API.md).</summary>
public sealed record DealDto(
    Guid Id,
    string Name,
    long? Amount,
    string? Currency,
    Guid PipelineId,
    Guid StageId,
    int Probability,
    DateOnly? ExpectedCloseDate,
    DealStatus Status,
    DateTimeOffset? ClosedAt,
    string? LostReason,
    Guid? CompanyId,
    Guid? PrimaryContactId,
    Guid? OwnerId,
    DateTimeOffset StageEnteredAt,
    DateTimeOffset CreatedAt,
    DateTimeOffset UpdatedAt)
{
    [JsonIgnore]
    public uint Version { get; init; }

    public static DealDto From(Deal deal) => new(
        deal.Id,
        deal.Name,
        deal.Amount,
        deal.Currency,
        deal.PipelineId,
        deal.StageId,
        deal.Probability,
        deal.ExpectedCloseDate,
        deal.Status,
        deal.ClosedAt,
        deal.LostReason,
        deal.CompanyId,
        deal.PrimaryContactId,
        deal.OwnerId,
        deal.StageEnteredAt,
        deal.CreatedAt,
        deal.UpdatedAt)
    {
        Version = deal.Version,
    };
}
