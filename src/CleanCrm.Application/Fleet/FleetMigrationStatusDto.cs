namespace CleanCrm.Application.Fleet;

public sealed record FleetMigrationStatusDto(string JobId, string State, string? Progress, string? Report);
