using System.Buffers;
using System.Text;
using System.Text.Json;
using CleanCrm.Application.Common.Validation;
using CleanCrm.Application.Contacts;

namespace CleanCrm.Application.Imports;

/// <summary>One row error as <c>GET /api/v1/imports/{id}</c> shows it: the physical line of the file, the column, the rule.</summary>
public sealed record ImportRowError(int Line, string Field, string Message);

/// <summary>A contact row that passed validation, normalized the way <see cref="ContactFields.ApplyTo"/> stores it.</summary>
public sealed record ContactImportRow(
    int Line,
    string? FirstName,
    string? LastName,
    string? Email,
    string? Phone,
    string? JobTitle,
    string? Source,
    string? CompanyDomain,
    string? CompanyName,
    string CustomFieldsJson);

/// <summary>
/// Maps a contacts CSV header to columns and validates rows with the same rules as <c>CreateContact</c>
/// (<see cref="ContactFieldsValidator"/>). Known columns (matched ignoring case, spaces, '_' and '-'): firstName,
/// lastName, email, phone, jobTitle, source, companyDomain, companyName. Any other column becomes a custom field named
/// exactly as its header (which must be a valid custom-field key). The header must name firstName, lastName or email.
/// </summary>
public sealed class ContactCsvMapping
{
    public const int MaxCompanyNameLength = 200;

    private static readonly ContactFieldsValidator Validator = new();

    private static readonly Dictionary<string, Column> KnownColumns = new(StringComparer.Ordinal)
    {
        ["firstname"] = Column.FirstName,
        ["lastname"] = Column.LastName,
        ["email"] = Column.Email,
        ["phone"] = Column.Phone,
        ["jobtitle"] = Column.JobTitle,
        ["source"] = Column.Source,
        ["companydomain"] = Column.CompanyDomain,
        ["companyname"] = Column.CompanyName,
    };

    private readonly Column[] _columns;
    private readonly string[] _customKeys;
    private readonly ArrayBufferWriter<byte> _json = new(1024);
    private readonly Utf8JsonWriter _writer;

    private ContactCsvMapping(Column[] columns, string[] customKeys)
    {
        _columns = columns;
        _customKeys = customKeys;
        _writer = new Utf8JsonWriter(_json);
    }

    public int ColumnCount => _columns.Length;

    /// <summary>Reads the header; a header that cannot be mapped is a structural problem (<see cref="CsvFormatException"/>).</summary>
    public static ContactCsvMapping FromHeader(IReadOnlyList<string> header, int line)
    {
        var columns = new Column[header.Count];
        var customKeys = new string[header.Count];
        var seen = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        var customCount = 0;
        for (var i = 0; i < header.Count; i++)
        {
            var name = header[i].Trim();
            if (name.Length == 0)
            {
                throw new CsvFormatException(line, $"header column {i + 1} is empty; every column needs a name.");
            }

            var normalized = Normalize(name);
            if (!seen.Add(KnownColumns.ContainsKey(normalized) ? normalized : name))
            {
                throw new CsvFormatException(line, $"header column '{name}' appears twice.");
            }

            if (KnownColumns.TryGetValue(normalized, out var known))
            {
                columns[i] = known;
                continue;
            }

            if (!FieldRules.IsCustomFieldKey(name))
            {
                throw new CsvFormatException(
                    line,
                    $"header column '{name}' is not a contact field (firstName, lastName, email, phone, jobTitle, source, companyDomain, "
                    + "companyName) nor a valid custom-field key (a letter, then letters, digits or '_', at most 64).");
            }

            columns[i] = Column.Custom;
            customKeys[i] = name;
            customCount++;
        }

        if (customCount > FieldRules.MaxCustomFields)
        {
            throw new CsvFormatException(
                line, $"the header has {customCount} custom-field columns; at most {FieldRules.MaxCustomFields} are allowed.");
        }

        if (!columns.Any(c => c is Column.FirstName or Column.LastName or Column.Email))
        {
            throw new CsvFormatException(
                line, "the header row must name at least one of the columns firstName, lastName or email (is the header row missing?).");
        }

        return new ContactCsvMapping(columns, customKeys);
    }

    /// <summary>Maps and validates one record; on failure adds its errors (at least one) and returns null.</summary>
    public ContactImportRow? Map(IReadOnlyList<string> record, int line, List<ImportRowError> errors)
    {
        if (record.Count != _columns.Length)
        {
            errors.Add(new ImportRowError(line, "row", $"has {record.Count} fields but the header has {_columns.Length}."));
            return null;
        }

        string? firstName = null, lastName = null, email = null, phone = null;
        string? jobTitle = null, source = null, domain = null, companyName = null;
        _json.ResetWrittenCount();
        Utf8JsonWriter? writer = null;
        for (var i = 0; i < record.Count; i++)
        {
            var value = record[i].Trim();
            if (value.Length == 0)
            {
                continue;
            }

            switch (_columns[i])
            {
                case Column.FirstName: firstName = value; break;
                case Column.LastName: lastName = value; break;
                case Column.Email: email = value; break;
                case Column.Phone: phone = value; break;
                case Column.JobTitle: jobTitle = value; break;
                case Column.Source: source = value; break;
                case Column.CompanyDomain: domain = value.ToLowerInvariant(); break;
                case Column.CompanyName: companyName = value; break;
                default:
                    writer ??= StartObject();
                    writer.WriteString(_customKeys[i], value);
                    break;
            }
        }

        var before = errors.Count;
        var fields = new ContactFields
        {
            FirstName = firstName,
            LastName = lastName,
            Email = email,
            Phone = phone,
            JobTitle = jobTitle,
            Source = source,
        };
        if (!FastRules.Accepts(fields))
        {
            foreach (var failure in Validator.Validate(fields).Errors)
            {
                var property = failure.PropertyName;
                var field = property.Length == 0 ? "row" : char.ToLowerInvariant(property[0]) + property[1..];
                errors.Add(new ImportRowError(line, field, failure.ErrorMessage));
            }
        }

        if (domain is not null && !FieldRules.IsDomain(domain))
        {
            errors.Add(new ImportRowError(line, "companyDomain", "must be a host name such as example.com (no scheme, path or port)."));
        }

        if (companyName is { Length: > MaxCompanyNameLength })
        {
            errors.Add(new ImportRowError(line, "companyName", $"must be at most {MaxCompanyNameLength} characters."));
        }

        var customJson = "{}";
        if (writer is not null)
        {
            writer.WriteEndObject();
            writer.Flush();
            if (_json.WrittenCount > FieldRules.MaxCustomFieldsBytes)
            {
                errors.Add(
                    new ImportRowError(line, "customFields", $"must be at most {FieldRules.MaxCustomFieldsBytes / 1024} KB of JSON."));
            }

            customJson = Encoding.UTF8.GetString(_json.WrittenSpan);
        }

        return errors.Count > before
            ? null
            : new ContactImportRow(
                line, firstName, lastName, fields.NormalizedEmail, phone, jobTitle, source, domain, companyName, customJson);
    }

    /// <summary>
    /// Accepts a row without running FluentValidation (a hundred thousand <c>Validate</c> calls cost more than parsing the
    /// file) when it certainly passes <see cref="ContactFieldsValidator"/>: the length limits are read from that
    /// validator's own rules, the email and phone checks are the ones its rules apply. Anything else goes through the
    /// validator, which also writes the messages; a unit test holds the two in agreement.
    /// </summary>
    public static class FastRules
    {
        private static readonly int FirstName = MaxLength(nameof(ContactFields.FirstName));
        private static readonly int LastName = MaxLength(nameof(ContactFields.LastName));
        private static readonly int Email = MaxLength(nameof(ContactFields.Email));
        private static readonly int JobTitle = MaxLength(nameof(ContactFields.JobTitle));
        private static readonly int Source = MaxLength(nameof(ContactFields.Source));

        public static bool Accepts(ContactFields fields) =>
            (fields.FirstName is not null || fields.LastName is not null || fields.Email is not null)
            && Fits(fields.FirstName, FirstName)
            && Fits(fields.LastName, LastName)
            && Fits(fields.Email, Email)
            && Fits(fields.JobTitle, JobTitle)
            && Fits(fields.Source, Source)
            && (fields.Email is null || IsEmailAddress(fields.Email))
            && (fields.Phone is null || FieldRules.IsPhone(fields.Phone));

        /// <summary>FluentValidation's <c>EmailAddress()</c> (ASP.NET Core compatible mode): one '@', neither first nor last.</summary>
        private static bool IsEmailAddress(string value)
        {
            var at = value.IndexOf('@', StringComparison.Ordinal);
            return at > 0 && at != value.Length - 1 && at == value.LastIndexOf('@');
        }

        private static bool Fits(string? value, int max) => value is null || value.Length <= max;

        // -1 (never fits) when the validator has no length rule for the field, so every such row is validated in full.
        private static int MaxLength(string property) =>
            Validator.CreateDescriptor().GetValidatorsForMember(property)
                .Select(v => v.Validator).OfType<FluentValidation.Validators.ILengthValidator>()
                .Select(v => v.Max).DefaultIfEmpty(-1).Min();
    }

    private Utf8JsonWriter StartObject()
    {
        _writer.Reset(_json);
        _writer.WriteStartObject();
        return _writer;
    }

    private static string Normalize(string name)
    {
        Span<char> buffer = stackalloc char[Math.Min(name.Length, 128)];
        var length = 0;
        foreach (var c in name)
        {
            if (c is ' ' or '_' or '-' || length == buffer.Length)
            {
                continue;
            }

            buffer[length++] = char.ToLowerInvariant(c);
        }

        return new string(buffer[..length]);
    }

    private enum Column
    {
        FirstName,
        LastName,
        Email,
        Phone,
        JobTitle,
        Source,
        CompanyDomain,
        CompanyName,
        Custom,
    }
}
