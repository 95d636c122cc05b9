namespace CleanCrm.Application.Members;

/// <summary>A member of the organization; the id is the user id.</summary>
public sealed record MemberDto(Guid Id, string Email, string Name, string Role, DateTimeOffset JoinedAt);
