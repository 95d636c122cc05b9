using System.Text.Json;
using System.Text.RegularExpressions;
using FluentValidation;

namespace CleanCrm.Application.Common.Validation;

/// <summary>Rules shared by several resources; messages name the rule so a client can fix the field.</summary>
public static partial class FieldRules
{
    public const int MaxCustomFields = 50;
    public const int MaxCustomFieldsBytes = 16 * 1024;

    // ISO 4217 active codes.
    private static readonly HashSet<string> Currencies = new(
        ("AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BRL BSD BTN BWP BYN BZD CAD CDF CHF CLP CNY " +
         "COP CRC CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP GEL GHS GIP GMD GNF GTQ GYD HKD HNL HTG HUF IDR ILS INR " +
         "IQD IRR ISK JMD JOD JPY KES KGS KHR KMF KPW KRW KWD KYD KZT LAK LBP LKR LRD LSL LYD MAD MDL MGA MKD MMK MNT MOP MRU MUR " +
         "MVR MWK MXN MYR MZN NAD NGN NIO NOK NPR NZD OMR PAB PEN PGK PHP PKR PLN PYG QAR RON RSD RUB RWF SAR SBD SCR SDG SEK SGD " +
         "SHP SLE SOS SRD SSP STN SVC SYP SZL THB TJS TMT TND TOP TRY TTD TWD TZS UAH UGX USD UYU UZS VED VES VND VUV WST XAF XCD " +
         "XCG XOF XPF YER ZAR ZMW ZWG").Split(' '),
        StringComparer.Ordinal);

    [GeneratedRegex(@"^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$", RegexOptions.CultureInvariant)]
    private static partial Regex DomainPattern();

    [GeneratedRegex("^[a-zA-Z][a-zA-Z0-9_]{0,63}$", RegexOptions.CultureInvariant)]
    private static partial Regex CustomFieldKey();

    [GeneratedRegex(@"^\+?[0-9 ().\-/]{3,40}$", RegexOptions.CultureInvariant)]
    private static partial Regex PhonePattern();

    /// <summary>An email address as users type it (trimmed and compared case-insensitively when stored).</summary>
    public static IRuleBuilderOptions<T, string?> ValidEmail<T>(this IRuleBuilder<T, string?> rule) =>
        rule.NotEmpty().WithMessage("is required.").MaximumLength(254).WithMessage("must be at most 254 characters.")
            .EmailAddress().WithMessage("must be an email address such as ada@example.com.");

    /// <summary>The password policy: 12–128 characters, at least 5 distinct ones, not containing the email's local part.</summary>
    public static IRuleBuilderOptions<T, string?> ValidNewPassword<T>(this IRuleBuilder<T, string?> rule, Func<T, string?> email) =>
        rule.NotEmpty().WithMessage("is required.")
            .MinimumLength(12).WithMessage("must be at least 12 characters.")
            .MaximumLength(128).WithMessage("must be at most 128 characters.")
            .Must((request, password) => password is null || email(request) is not { } address
                                         || !password.Contains(address.Split('@')[0], StringComparison.OrdinalIgnoreCase))
            .WithMessage("must not contain your email name.")
            .Must(password => password is null || password.Distinct().Count() >= 5)
            .WithMessage("must use at least 5 different characters.");

    public static bool IsCurrency(string? code) => code is not null && Currencies.Contains(code);

    public static bool IsDomain(string? value) => value is not null && DomainPattern().IsMatch(value);

    public static bool IsPhone(string? value) => value is not null && PhonePattern().IsMatch(value);

    public static bool IsCustomFieldKey(string? value) => value is not null && CustomFieldKey().IsMatch(value);

    public static IRuleBuilderOptions<T, string?> MustBeCurrency<T>(this IRuleBuilder<T, string?> rule) =>
        rule.Must(code => code is null || IsCurrency(code))
            .WithMessage("'{PropertyValue}' is not an ISO 4217 currency code (e.g. USD, EUR).");

    public static IRuleBuilderOptions<T, string?> MustBeDomain<T>(this IRuleBuilder<T, string?> rule) =>
        rule.Must(value => value is null || IsDomain(value))
            .WithMessage("must be a lower-case host name such as example.com (no scheme, path or port).");

    public static IRuleBuilderOptions<T, Dictionary<string, JsonElement>?> MustBeCustomFields<T>(
        this IRuleBuilder<T, Dictionary<string, JsonElement>?> rule) =>
        rule.Must(fields => fields is null || fields.Count <= MaxCustomFields)
            .WithMessage($"may hold at most {MaxCustomFields} fields.")
            .Must(fields => fields is null || fields.Keys.All(key => CustomFieldKey().IsMatch(key)))
            .WithMessage("keys must start with a letter and contain only letters, digits and '_' (at most 64).")
            .Must(fields => fields is null
                || fields.Values.All(value => value.ValueKind is not (JsonValueKind.Object or JsonValueKind.Array)))
            .WithMessage("values must be strings, numbers, booleans or null (no nested objects or arrays).")
            .Must(fields => fields is null || JsonSerializer.SerializeToUtf8Bytes(fields).Length <= MaxCustomFieldsBytes)
            .WithMessage($"must be at most {MaxCustomFieldsBytes / 1024} KB of JSON.");

    public static IRuleBuilderOptions<T, string?> MustBePhone<T>(this IRuleBuilder<T, string?> rule) =>
        rule.Must(value => value is null || IsPhone(value))
            .WithMessage("must be a phone number of digits, spaces and + ( ) . - / (3-40 characters).");
}
