using System.Text;
using CleanCrm.Application.Contacts;
using CleanCrm.Application.Imports;

namespace CleanCrm.UnitTests;

public sealed class CsvImportTests
{
    [Fact]
    public async Task Records_follow_rfc_4180_quoting_across_buffer_boundaries_and_report_their_first_physical_line()
    {
        var longField = new string('z', 100_000);
        var csv = "a,b,c\r\n" +
                  "\"x, y\",\"say \"\"hi\"\"\",\"two\r\nlines\"\n" +
                  "\n" +
                  $"{longField},\"{longField}\",\r\n" +
                  "last,,\"\"";
        var records = await ReadAllAsync(Encoding.UTF8.GetBytes(csv), maxField: 200_000);
        records.Select(r => r.Line).ShouldBe([1, 2, 5, 6]);
        records[1].Fields.ShouldBe(["x, y", "say \"hi\"", "two\nlines"]);
        records[2].Fields.ShouldBe([longField, longField, string.Empty]);
        records[3].Fields.ShouldBe(["last", string.Empty, string.Empty]);
    }

    [Fact]
    public async Task A_byte_order_mark_is_skipped_and_a_lone_cr_ends_a_line()
    {
        var records = await ReadAllAsync([0xEF, 0xBB, 0xBF, .. Encoding.UTF8.GetBytes("email\rada@example.com\r")]);
        records.Select(r => (r.Line, r.Fields[0])).ShouldBe([(1, "email"), (2, "ada@example.com")]);
    }

    [Theory]
    [InlineData(new byte[] { 0x61, 0x0A, 0xC3, 0x28, 0x0A }, "line 2: the file is not valid UTF-8")]
    [InlineData(new byte[] { 0x61, 0x0A, 0x62, 0xFF }, "line 2: the file is not valid UTF-8 (invalid byte sequence at byte offset 3)")]
    [InlineData(new byte[] { 0x22, 0x61, 0x22, 0x62, 0x0A }, "line 1: unexpected 'b' after a closing quote")]
    [InlineData(new byte[] { 0x61, 0x0A, 0x22, 0x62, 0x0A, 0x63 }, "line 2: a quoted field is never closed")]
    public async Task Structural_problems_throw_with_the_line(byte[] bytes, string message)
    {
        var exception = await Should.ThrowAsync<CsvFormatException>(() => ReadAllAsync(bytes));
        exception.Message.ShouldStartWith(message);
    }

    [Fact]
    public async Task A_field_over_the_limit_is_refused_quoted_or_not()
    {
        (await Should.ThrowAsync<CsvFormatException>(
            () => ReadAllAsync(Encoding.UTF8.GetBytes($"a\n{new string('x', 11)}\n"), maxField: 10))).Line.ShouldBe(2);
        (await Should.ThrowAsync<CsvFormatException>(
            () => ReadAllAsync(Encoding.UTF8.GetBytes($"a\n\"{new string('x', 11)}\"\n"), maxField: 10))).Line.ShouldBe(2);
    }

    [Theory]
    [InlineData("Ada", null, "ada@example.com", "+44 20 7946 0000", null, null)]
    [InlineData(null, null, "a@b", null, null, null)]
    [InlineData(null, null, "@example.com", null, null, null)]
    [InlineData(null, null, "ada@", null, null, null)]
    [InlineData(null, null, "a@b@c", null, null, null)]
    [InlineData(null, null, "no-at-sign", null, null, null)]
    [InlineData(null, null, null, "+1 555 0100", "CEO", null)]
    [InlineData("Ada", null, null, "call me", null, null)]
    [InlineData("Ada", null, null, "12", null, null)]
    [InlineData("Ada", null, null, null, null, "web")]
    [InlineData(100, 100, 254, null, 150, 100)]
    [InlineData(101, null, null, null, null, null)]
    [InlineData("Ada", 101, null, null, null, null)]
    [InlineData("Ada", null, 255, null, null, null)]
    [InlineData("Ada", null, null, null, 151, null)]
    [InlineData("Ada", null, null, null, null, 101)]
    public void The_fast_path_accepts_a_row_only_when_the_create_contact_validator_does(object? first, object? last, object? email,
        string? phone, object? title, object? source)
    {
        var fields = new ContactFields
        {
            FirstName = Text(first),
            LastName = Text(last),
            Email = Email(email),
            Phone = phone,
            JobTitle = Text(title),
            Source = Text(source)
        };
        var valid = new ContactFieldsValidator().Validate(fields).IsValid;
        ContactCsvMapping.FastRules.Accepts(fields).ShouldBe(valid);
    }

    [Fact]
    public void Rows_are_mapped_with_custom_fields_and_validated_with_the_create_contact_rules()
    {
        var mapping = ContactCsvMapping.FromHeader(["First Name", "email", "company_domain", "tier"], 1);
        var errors = new List<ImportRowError>();
        var row = mapping.Map([" Ada ", "ADA@Example.com", "Example.COM", "gold"], 2, errors)!;
        (row.FirstName, row.Email, row.CompanyDomain, row.CustomFieldsJson)
            .ShouldBe(("Ada", "ada@example.com", "example.com", "{\"tier\":\"gold\"}"));
        mapping.Map(["", "", "", ""], 3, errors).ShouldBeNull();
        mapping.Map(["Bob", "bob", "x", ""], 4, errors).ShouldBeNull();
        errors.Select(e => (e.Line, e.Field)).ShouldBe([(3, "firstName"), (4, "email"), (4, "companyDomain")]);
    }

    private static string? Text(object? value) => value switch
    {
        int length => new string('a', length),
        string text => text,
        _ => null,
    };

    private static string? Email(object? value) => value is int length
        ? new string('a', length - "@example.com".Length) + "@example.com"
        : value as string;

    private static async Task<List<(int Line, List<string> Fields)>> ReadAllAsync(byte[] bytes, int maxField = 32_768)
    {
        var reader = new CsvRecordReader(new MemoryStream(bytes), maxField);
        var records = new List<(int, List<string>)>();
        var fields = new List<string>();
        while (await reader.ReadAsync(fields, CancellationToken.None))
        {
            records.Add((reader.RecordLine, [.. fields]));
        }

        return records;
    }
}
