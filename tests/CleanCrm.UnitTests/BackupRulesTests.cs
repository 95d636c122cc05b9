using System.Security.Cryptography;
using CleanCrm.Domain.Catalog;
using CleanCrm.Infrastructure.Backups;

namespace CleanCrm.UnitTests;

public sealed class BackupRulesTests
{
    [Fact]
    public void Daily_backup_times_are_stable_per_organization_and_spread_over_the_day()
    {
        var ids = Enumerable.Range(1, 24_000).Select(i => new Guid(SHA256.HashData(BitConverter.GetBytes(i))[..16])).ToList();
        var offsets = ids.Select(BackupScheduleJob.DailyOffsetMinutes).ToList();
        offsets.ShouldAllBe(o => o >= 0 && o < 1440);
        ids.Select(BackupScheduleJob.DailyOffsetMinutes).ShouldBe(offsets, "the same organization always gets the same minute");
        var perHour = offsets.GroupBy(o => o / 60).ToDictionary(g => g.Key, g => g.Count());
        perHour.Count.ShouldBe(24);
        perHour.Values.ShouldAllBe(n => n > 850 && n < 1150, "about 1,000 per hour, not a thundering herd");
    }

    [Fact]
    public async Task Hashing_stream_reports_the_sha256_and_length_of_what_passed_through()
    {
        var data = RandomNumberGenerator.GetBytes(300_000);
        await using var hashing = new HashingReadStream(new MemoryStream(data));
        var copy = new MemoryStream();
        await hashing.CopyToAsync(copy, 4096);
        hashing.BytesRead.ShouldBe(data.Length);
        hashing.Sha256.ShouldBe(Convert.ToHexStringLower(SHA256.HashData(data)));
        copy.ToArray().ShouldBe(data);
    }

    [Fact]
    public void Fingerprint_differences_name_every_table_that_differs()
    {
        BackupTable Table(string name, long rows, string hash) => new() { TableName = name, RowCount = rows, ContentHash = hash };
        var expected = new[] { Table("companies", 2, "a"), Table("contacts", 1, "b"), Table("deals", 0, "c") };
        TableFingerprints.Differences(expected, [Table("companies", 2, "a"), Table("contacts", 1, "b"), Table("deals", 0, "c")])
            .ShouldBeEmpty();
        TableFingerprints.Differences(expected, [Table("companies", 3, "a"), Table("contacts", 1, "x"), Table("notes", 0, "d")])
            .ShouldBe(["companies: 3 rows, expected 2", "contacts: content hash differs", "deals: missing", "notes: not in the backup"]);
    }
}
