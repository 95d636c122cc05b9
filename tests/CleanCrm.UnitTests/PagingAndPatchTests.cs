using System.Text.Json;
using CleanCrm.Application.Common.Json;
using CleanCrm.Application.Common.Paging;
using CleanCrm.Application.Common.Results;
using CleanCrm.Application.Companies;

namespace CleanCrm.UnitTests;

public sealed class PagingAndPatchTests
{
    [Fact]
    public void A_cursor_round_trips_and_only_decodes_for_its_own_sort()
    {
        var id = Guid.NewGuid();
        var text = new Cursor("-name", "Acme", id).Encode();
        Cursor.TryDecode(text, "-name", out var decoded).ShouldBeTrue();
        decoded.ShouldBe(new Cursor("-name", "Acme", id));
        Cursor.TryDecode(text, "name", out _).ShouldBeFalse();
        Cursor.TryDecode("%%%", "name", out _).ShouldBeFalse();
        Cursor.TryDecode("e30", "name", out _).ShouldBeFalse();
        Cursor.TryDecode(null, "name", out var none).ShouldBeTrue();
        none.ShouldBeNull();
    }

    [Theory]
    [InlineData(null, "createdAt", false)]
    [InlineData("-name", "name", true)]
    [InlineData("updatedAt", "updatedAt", false)]
    public void Sort_orders_parse_a_leading_minus_as_descending(string? text, string field, bool descending)
    {
        SortOrder.TryParse(text, ["name", "createdAt", "updatedAt"], "createdAt", out var order).ShouldBeTrue();
        order.ShouldBe(new SortOrder(field, descending));
        SortOrder.TryParse("password", ["name"], "name", out _).ShouldBeFalse();
    }

    [Fact]
    public void A_merge_patch_replaces_removes_and_merges_nested_objects()
    {
        var current = new CompanyFields
        {
            Name = "Acme",
            Industry = "Retail",
            CustomFields = new Dictionary<string, JsonElement>
            {
                ["a"] = JsonSerializer.SerializeToElement(1),
                ["b"] = JsonSerializer.SerializeToElement(2)
            },
        };
        using var patch = JsonDocument.Parse("{\"industry\":null,\"name\":\"Acme Ltd\",\"customFields\":{\"b\":null,\"c\":\"x\"}}");
        var merged = JsonMergePatch.Apply(current, patch.RootElement);
        merged.IsSuccess.ShouldBeTrue();
        merged.Value.Name.ShouldBe("Acme Ltd");
        merged.Value.Industry.ShouldBeNull();
        merged.Value.CustomFields!.Keys.Order().ShouldBe(["a", "c"]);
    }

    [Fact]
    public void A_merge_patch_with_unknown_fields_or_wrong_types_fails_naming_the_field()
    {
        using var unknown = JsonDocument.Parse("{\"colour\":\"red\"}");
        var failed = JsonMergePatch.Apply(new CompanyFields { Name = "A" }, unknown.RootElement);
        failed.IsSuccess.ShouldBeFalse();
        failed.Error!.Detail.ShouldContain("colour");

        using var wrongType = JsonDocument.Parse("{\"employeeCount\":\"lots\"}");
        var typed = JsonMergePatch.Apply(new CompanyFields { Name = "A" }, wrongType.RootElement);
        typed.Error!.Errors!.ShouldContainKey("employeeCount");
        typed.Error.Type.ShouldBe(ErrorType.Validation);
    }

    [Fact]
    public void Company_fields_validation_names_each_broken_rule()
    {
        var result = new CompanyFieldsValidator()
            .Validate(new CompanyFields { Name = "", Currency = "XXX1", AnnualRevenue = -5, Domain = "Not A Domain" });
        result.Errors.Select(e => e.PropertyName).Distinct().Order().ShouldBe(["AnnualRevenue", "Currency", "Domain", "Name"]);
    }
}
