using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using CleanCrm.Domain.Catalog;
using CleanCrm.IntegrationTests.Support;
using CleanCrm.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;

namespace CleanCrm.IntegrationTests.Crm;

/// <summary>
/// <c>POST /api/v1/imports/contacts</c> and <c>GET /api/v1/imports/{id}</c> over HTTP, with the real worker host running
/// the import job against the organization's own database; outcomes are checked in the tenant's rows.
/// </summary>
[Collection(PlatformCollection.Name)]
public sealed class ContactImportApiTests(SharedPlatform platform) : IAsyncLifetime
{
    private const string Header = "firstName,lastName,email,phone,jobTitle,source,companyDomain,companyName";

    private ApiFactory _api = null!;
    private WorkerHostRunner _worker = null!;
    private HttpClient _owner = null!;
    private HttpClient _member = null!;
    private HttpClient _reader = null!;
    private HttpClient _auditor = null!;
    private Organization _org = null!;
    private UserAccount _ownerUser = null!;
    private UserAccount _memberUser = null!;

    public async Task InitializeAsync()
    {
        _api = await platform.SharedAsync("crm-api", () => Task.FromResult(new ApiFactory(platform)));
        _worker = await WorkerHostRunner.StartAsync(platform);
        _ownerUser = await platform.CreateUserAsync();
        _memberUser = await platform.CreateUserAsync();
        var reader = await platform.CreateUserAsync();
        var auditor = await platform.CreateUserAsync();
        _org = await platform.CreateOrganizationAsync(
            members: [(_ownerUser, OrgRole.Owner), (_memberUser, OrgRole.Member), (reader, OrgRole.Readonly), (auditor, OrgRole.Auditor)]);
        _owner = _api.ClientFor(_ownerUser.Id, _org.Slug);
        _member = _api.ClientFor(_memberUser.Id, _org.Slug);
        _reader = _api.ClientFor(reader.Id, _org.Slug);
        _auditor = _api.ClientFor(auditor.Id, _org.Slug);
    }

    public async Task DisposeAsync() => await _worker.DisposeAsync();

    [Fact]
    public async Task A_good_file_is_accepted_with_202_and_imported_by_the_worker_as_the_uploader()
    {
        var csv = $"""
                   {Header},tier
                   Ada,Lovelace,Ada@Analytical.example.com,+44 20 7946 0000,Countess,conference,analytical.example.com,Analytical Engines,gold
                   Charles,Babbage,charles@analytical.example.com,,Inventor,,analytical.example.com,,
                   Grace,Hopper,grace@navy.example.com,,Rear Admiral,referral,,,silver

                   """;
        var response = await PostCsvAsync(_member, csv);
        response.StatusCode.ShouldBe(HttpStatusCode.Accepted, await response.Content.ReadAsStringAsync());
        var importId = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("importId").GetGuid();
        response.Headers.Location!.ToString().ShouldBe($"/api/v1/imports/{importId}");

        var import = await WaitForImportAsync(_member, importId);
        import.GetProperty("status").GetString().ShouldBe("succeeded", import.ToString());
        Counts(import).ShouldBe((3, 3, 0, 0, 0));
        import.GetProperty("companiesCreated").GetInt32().ShouldBe(1);
        import.GetProperty("onDuplicate").GetString().ShouldBe("skip");
        import.GetProperty("errors").GetArrayLength().ShouldBe(0);
        import.GetProperty("startedAt").GetString().ShouldNotBeNull();
        import.GetProperty("finishedAt").GetString().ShouldNotBeNull();
        import.GetProperty("durationMs").GetInt64().ShouldBeGreaterThanOrEqualTo(0);

        var member = _memberUser.Id;
        (await Count($"SELECT count(*) FROM contacts WHERE created_by = '{member}' AND updated_by = '{member}' AND deleted_at IS NULL"))
            .ShouldBe(3);
        (await Count("SELECT count(*) FROM contacts WHERE email = 'ada@analytical.example.com' AND phone = '+44 20 7946 0000' AND " +
            "job_title = 'Countess' AND source = 'conference' AND custom_fields->>'tier' = 'gold'")).ShouldBe(1);
        (await Count("SELECT count(*) FROM contacts WHERE email = 'charles@analytical.example.com' AND phone IS NULL AND custom_fields = " +
            "'{}'::jsonb")).ShouldBe(1);
        (await Count("SELECT count(*) FROM companies WHERE domain = 'analytical.example.com' AND name = 'Analytical Engines'")).ShouldBe(1);
        (await Count(
            "SELECT count(*) FROM contacts c JOIN companies co ON co.id = c.company_id WHERE co.domain = 'analytical.example.com'"))
            .ShouldBe(2);
        (await Count($"SELECT count(*) FROM import_upload_chunks WHERE import_id = '{importId}'")).ShouldBe(0);
        // The bulk load is audited once, by the uploader, with its counts (rows bypass EF's per-record audit).
        (await Count($"SELECT count(*) FROM audit_log WHERE entity_type = 'import' AND entity_id = '{importId}' AND action = 'imported' " +
            $"AND actor_id = '{member}' AND (changes->>'inserted')::int = 3")).ShouldBe(1);

        var list = await _member.GetFromJsonAsync<JsonElement>("/api/v1/contacts?email=grace@navy.example.com");
        list.GetProperty("items")[0].GetProperty("customFields").GetProperty("tier").GetString().ShouldBe("silver");
    }

    [Fact]
    public async Task Existing_contacts_are_skipped_by_default_and_updated_with_non_empty_values_on_request()
    {
        var existing = await OrgScopedEndpoints.CreateAsync(_owner, "contacts", new
        {
            firstName = "Existing",
            lastName = "Person",
            email = "existing@dup.example.com",
            jobTitle = "Old title",
            customFields = new { keep = "yes" }
        });
        var csv = $"""
                   {Header},tier
                   ,,EXISTING@dup.example.com,,New title,,,,vip
                   New,Person,new-one@dup.example.com,,,,,,
                   """;

        var skipped = await ImportAsync(_member, csv);
        Counts(skipped).ShouldBe((2, 1, 0, 1, 0));
        (await Count($"SELECT count(*) FROM contacts WHERE id = '{existing}' AND job_title = 'Old title' AND updated_at = created_at"))
            .ShouldBe(1);

        var updated = await ImportAsync(_member, csv.Replace("new-one@", "new-two@", StringComparison.Ordinal), "?onDuplicate=update");
        updated.GetProperty("onDuplicate").GetString().ShouldBe("update");
        Counts(updated).ShouldBe((2, 1, 1, 0, 0));
        (await Count($"SELECT count(*) FROM contacts WHERE id = '{existing}' AND job_title = 'New title' AND first_name = 'Existing' " +
            $"AND custom_fields->>'keep' = 'yes' AND custom_fields->>'tier' = 'vip' AND updated_by = '{_memberUser.Id}' AND updated_at > " +
            $"created_at")).ShouldBe(1);
        (await Count("SELECT count(*) FROM contacts WHERE email = 'existing@dup.example.com'")).ShouldBe(1);
    }

    [Fact]
    public async Task An_update_that_would_push_a_contacts_custom_fields_over_the_limit_fails_that_row_only()
    {
        var existingFields = Enumerable.Range(1, 45).ToDictionary(i => $"k{i}", i => (object)$"v{i}");
        var existing = await OrgScopedEndpoints.CreateAsync(
            _owner, "contacts", new { firstName = "Full", email = "full@limits.example.com", customFields = existingFields });
        var extra = string.Join(',', Enumerable.Range(1, 6).Select(i => $"x{i}"));
        var csv = $"""
                   {Header},{extra}
                   ,,full@limits.example.com,,Now too many,,,,1,2,3,4,5,6
                   Fresh,Row,fresh@limits.example.com,,,,,,1,2,3,4,5,6
                   """;

        var import = await ImportAsync(_member, csv, "?onDuplicate=update");
        Counts(import).ShouldBe((2, 1, 0, 0, 1));
        var error = import.GetProperty("errors").EnumerateArray().ShouldHaveSingleItem();
        error.GetProperty("line").GetInt32().ShouldBe(2);
        error.GetProperty("field").GetString().ShouldBe("customFields");
        error.GetProperty("message").GetString()!.ShouldContain("51 fields");
        (await Count($"SELECT count(*) FROM contacts WHERE id = '{existing}' AND job_title IS NULL AND (SELECT count(*) FROM " +
            $"jsonb_object_keys(custom_fields)) = 45")).ShouldBe(1);
    }

    [Fact]
    public async Task When_the_job_cannot_be_queued_the_upload_is_refused_with_503_and_no_import_is_left_waiting()
    {
        using var broken = _api.WithWebHostBuilder(builder => builder.ConfigureTestServices(services =>
            services.AddSingleton<CleanCrm.Application.Imports.IImportQueue, UnreachableQueue>()));
        var client = broken.CreateClient();
        client.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Dev", $"user={_memberUser.Id}");
        client.DefaultRequestHeaders.Add("X-Org", _org.Slug);

        var problem = await Problem.ReadAsync(await PostCsvAsync(client, $"{Header}\nNever,Queued,never@queue.example.com,,,,,\n"),
            HttpStatusCode.ServiceUnavailable);
        problem.Code.ShouldBe("import_not_queued");
        (await Count("SELECT count(*) FROM imports WHERE status = 'queued'")).ShouldBe(0);
        (await Count("SELECT count(*) FROM imports i WHERE status = 'failed' AND failure_reason LIKE '%Upload the file again%' AND NOT " +
            "EXISTS (SELECT 1 FROM import_upload_chunks c WHERE c.import_id = i.id)")).ShouldBeGreaterThanOrEqualTo(1);
        (await Count("SELECT count(*) FROM contacts WHERE email = 'never@queue.example.com'")).ShouldBe(0);
    }

    private sealed class UnreachableQueue : CleanCrm.Application.Imports.IImportQueue
    {
        public Task<bool> EnqueueAsync(Guid organizationId, Guid importId, CancellationToken cancellationToken) => Task.FromResult(false);
    }

    [Fact]
    public async Task Duplicate_emails_within_the_file_keep_the_first_row_and_report_the_later_ones_by_line()
    {
        var csv = $"""
                   {Header}
                   First,Copy,twice@file.example.com,,,,,
                   Other,Row,other@file.example.com,,,,,
                   Second,Copy,TWICE@file.example.com,,,,,
                   """;
        var import = await ImportAsync(_member, csv);
        Counts(import).ShouldBe((3, 2, 0, 0, 1));
        var error = import.GetProperty("errors").EnumerateArray().ShouldHaveSingleItem();
        error.GetProperty("line").GetInt32().ShouldBe(4);
        error.GetProperty("field").GetString().ShouldBe("email");
        error.GetProperty("message").GetString()!.ShouldContain("line 2");
        (await Count("SELECT count(*) FROM contacts WHERE email = 'twice@file.example.com' AND first_name = 'First'")).ShouldBe(1);
    }

    [Fact]
    public async Task Quoted_fields_keep_commas_line_breaks_and_escaped_quotes_and_errors_name_the_physical_line()
    {
        var csv = "firstName,lastName,email,jobTitle\r\n" +
                  "\"Quincy\",\"Adams, \"\"Jr.\"\"\",quincy@quote.example.com,\"Head of\r\nSales, EMEA\"\r\n" +
                  "Bad,Email,not-an-email,\r\n" +
                  "\"\",\"\",\"\",\"\"\r\n";
        var import = await ImportAsync(_member, csv);
        Counts(import).ShouldBe((3, 1, 0, 0, 2));
        var errors = import.GetProperty("errors").EnumerateArray().ToList();
        errors.Select(e => (e.GetProperty("line").GetInt32(), e.GetProperty("field").GetString()))
            .ShouldBe([(4, "email"), (5, "firstName")]);
        (await Count("SELECT count(*) FROM contacts WHERE last_name = 'Adams, \"Jr.\"' AND job_title = E'Head of\\nSales, EMEA'"))
            .ShouldBe(1);
    }

    [Fact]
    public async Task Invalid_utf8_fails_the_whole_import_and_writes_nothing()
    {
        var before = Encoding.UTF8.GetBytes($"{Header}\nValid,Row,valid@utf8.example.com,,,,utf8.example.com,\nBroken,");
        byte[] bad = [0xC3, 0x28];
        var after = Encoding.UTF8.GetBytes(",broken@utf8.example.com,,,,,\n");
        var response = await PostAsync(_member,
            new ByteArrayContent([.. before, .. bad, .. after]) { Headers = { ContentType = new MediaTypeHeaderValue("text/csv") } });
        var import = await WaitForImportAsync(_member, await ImportIdAsync(response));
        import.GetProperty("status").GetString().ShouldBe("failed");
        import.GetProperty("failureReason").GetString()!.ShouldContain("UTF-8");
        import.GetProperty("failureReason").GetString()!.ShouldStartWith("line 3:");
        import.GetProperty("inserted").GetInt32().ShouldBe(0);
        (await Count("SELECT count(*) FROM contacts WHERE email LIKE '%@utf8.example.com'")).ShouldBe(0);
        (await Count("SELECT count(*) FROM companies WHERE domain = 'utf8.example.com'")).ShouldBe(0);
    }

    [Theory]
    [InlineData("phone,jobTitle\n+1 555 0100,CEO\n",
        "line 1: the header row must name at least one of the columns firstName, lastName or email")]
    [InlineData("Ada,Lovelace,ada@header.example.com\n", "is not a contact field")]
    [InlineData("firstName,email,Email\nAda,a@header.example.com,b@header.example.com\n", "appears twice")]
    [InlineData("firstName,email\nAda,ada@open.example.com\n\"Unclosed,x@open.example.com\nGrace,grace@open.example.com\n", "never closed")]
    [InlineData("firstName,email\nAda,ada@stray.example.com\nGr\"ace,grace@stray.example.com\n",
        "line 3: a quote inside an unquoted field")]
    public async Task A_structurally_malformed_file_fails_with_a_reason_and_nothing_written(string csv, string reason)
    {
        var import = await ImportAsync(_member, csv);
        import.GetProperty("status").GetString().ShouldBe("failed");
        import.GetProperty("failureReason").GetString()!.ShouldContain(reason);
        (import.GetProperty("inserted").GetInt32(), import.GetProperty("updated").GetInt32(), import.GetProperty("skipped").GetInt32())
            .ShouldBe((0, 0, 0));
        (await Count("SELECT count(*) FROM contacts WHERE email LIKE '%@header.example.com' OR email LIKE '%@open.example.com' OR email " +
            "LIKE '%@stray.example.com'")).ShouldBe(0);
    }

    [Fact]
    public async Task Over_long_and_invalid_values_fail_their_row_with_the_rule_while_valid_rows_are_imported()
    {
        var longName = new string('x', 101);
        var csv = $"""
                   {Header}
                   {longName},Long,long@rules.example.com,,,,,
                   Bad,Phone,phone@rules.example.com,call me maybe,,,,
                   Bad,Domain,domain@rules.example.com,,,,https://acme.example.com/x,
                   Too,Few,few@rules.example.com
                   Fine,Row,fine@rules.example.com,,,,,
                   """;
        var import = await ImportAsync(_member, csv);
        Counts(import).ShouldBe((5, 1, 0, 0, 4));
        var errors = import.GetProperty("errors").EnumerateArray().Select(
            e => (e.GetProperty("line").GetInt32(), e.GetProperty("field").GetString(), e.GetProperty("message").GetString())).ToList();
        errors.Select(e => (e.Item1, e.Item2)).ShouldBe([(2, "firstName"), (3, "phone"), (4, "companyDomain"), (5, "row")]);
        errors[0].Item3!.ShouldContain("at most 100 characters");
        (await Count("SELECT count(*) FROM contacts WHERE email LIKE '%@rules.example.com'")).ShouldBe(1);
    }

    [Fact]
    public async Task A_field_longer_than_the_reader_limit_fails_the_import()
    {
        var csv = $"firstName,email\n{new string('y', 40_000)},huge@field.example.com\n";
        var import = await ImportAsync(_member, csv);
        import.GetProperty("status").GetString().ShouldBe("failed");
        import.GetProperty("failureReason").GetString()!.ShouldContain("longer than 32768 characters");
    }

    [Fact]
    public async Task Companies_are_matched_by_domain_or_name_and_created_once_when_missing()
    {
        var existing =
            await OrgScopedEndpoints.CreateAsync(_owner, "companies", new { name = "Existing Co", domain = "existing-co.example.com" });
        var named = await OrgScopedEndpoints.CreateAsync(_owner, "companies", new { name = "Name Only Ltd" });
        var csv = $"""
                   {Header}
                   A,One,a1@match.example.com,,,,EXISTING-CO.example.com,Ignored Name
                   B,Two,b2@match.example.com,,,,fresh-co.example.com,Fresh Co
                   C,Three,c3@match.example.com,,,,fresh-co.example.com,Other Name
                   D,Four,d4@match.example.com,,,,,name only ltd
                   E,Five,e5@match.example.com,,,,,Brand New Name
                   """;
        var import = await ImportAsync(_member, csv);
        Counts(import).ShouldBe((5, 5, 0, 0, 0));
        import.GetProperty("companiesCreated").GetInt32().ShouldBe(2);
        (await Count($"SELECT count(*) FROM contacts WHERE email = 'a1@match.example.com' AND company_id = '{existing}'")).ShouldBe(1);
        (await Count($"SELECT count(*) FROM contacts WHERE email = 'd4@match.example.com' AND company_id = '{named}'")).ShouldBe(1);
        (await Count("SELECT count(*) FROM companies WHERE domain = 'fresh-co.example.com' AND name = 'Fresh Co'")).ShouldBe(1);
        (await Count("SELECT count(DISTINCT company_id) FROM contacts WHERE email IN ('b2@match.example.com', 'c3@match.example.com')"))
            .ShouldBe(1);
        (await Count(
            $"SELECT count(*) FROM companies WHERE name = 'Brand New Name' AND domain IS NULL AND created_by = '{_memberUser.Id}'"))
            .ShouldBe(1);
        (await Count("SELECT count(*) FROM companies WHERE name = 'Existing Co'")).ShouldBe(1);
    }

    [Fact]
    public async Task A_multipart_upload_is_read_from_its_file_part_and_keeps_the_file_name()
    {
        using var form = new MultipartFormDataContent();
        var file = new ByteArrayContent(Encoding.UTF8.GetBytes("firstName,email\nMulti,multi@part.example.com\n"));
        file.Headers.ContentType = new MediaTypeHeaderValue("text/csv");
        form.Add(new StringContent("ignored"), "note");
        form.Add(file, "file", "contacts.csv");
        var import = await WaitForImportAsync(_member, await ImportIdAsync(await PostAsync(_member, form)));
        Counts(import).ShouldBe((1, 1, 0, 0, 0));
        import.GetProperty("fileName").GetString().ShouldBe("contacts.csv");
        import.GetProperty("sizeBytes").GetInt64().ShouldBe(45);
    }

    [Fact]
    public async Task Bad_requests_are_problems_naming_what_was_wrong_and_store_nothing()
    {
        var before = await Count("SELECT count(*) FROM imports");
        var option =
            await Problem.ReadAsync(await PostCsvAsync(_member, "firstName\nX\n", "?onDuplicate=merge"), HttpStatusCode.BadRequest);
        option.Errors!.Keys.ShouldContain("onDuplicate");
        var json = await Problem.ReadAsync(await _member.PostAsJsonAsync("/api/v1/imports/contacts", new { firstName = "X" }),
            HttpStatusCode.UnsupportedMediaType);
        json.Type.ShouldEndWith("/unsupported_media_type");
        json.Detail.ShouldContain("application/json");
        var latin1 = new StringContent("firstName\nX\n");
        latin1.Headers.ContentType = MediaTypeHeaderValue.Parse("text/csv; charset=iso-8859-1");
        await Problem.ReadAsync(await PostAsync(_member, latin1), HttpStatusCode.UnsupportedMediaType);
        var empty = await Problem.ReadAsync(await PostCsvAsync(_member, string.Empty), HttpStatusCode.BadRequest);
        empty.Errors!.Keys.ShouldContain("file");
        using var noFile = new MultipartFormDataContent { { new StringContent("x"), "note" } };
        (await Problem.ReadAsync(await PostAsync(_member, noFile), HttpStatusCode.BadRequest)).Detail.ShouldContain("no CSV file");
        (await Count("SELECT count(*) FROM imports")).ShouldBe(before);
    }

    [Fact]
    public async Task The_upload_limit_is_the_imports_own_and_bigger_files_get_413_without_storing_anything()
    {
        using var small = new ApiFactory(platform, new Dictionary<string, string?>
        {
            ["CleanCrm:Imports:MaxUploadBytes"] = "2048",
            ["CleanCrm:Api:MaxRequestBodyBytes"] = "1024"
        });
        var client = small.ClientFor(_memberUser.Id, _org.Slug);
        var before = await Count("SELECT count(*) FROM imports");
        var fits = "firstName,email\n" + string.Concat(Enumerable.Range(0, 60).Select(i => $"Fits{i},f{i}@limit.example.com\n"));
        Encoding.UTF8.GetByteCount(fits).ShouldBeInRange(1025, 2048);
        (await PostCsvAsync(client, fits))
            .StatusCode.ShouldBe(HttpStatusCode.Accepted, "above the global 1 KiB limit, within the import limit");

        var tooBig = fits + string.Concat(Enumerable.Range(0, 2000).Select(i => $"Big{i},b{i}@limit.example.com\n"));
        var problem = await Problem.ReadAsync(await PostCsvAsync(client, tooBig), HttpStatusCode.RequestEntityTooLarge);
        problem.Type.ShouldEndWith("/payload_too_large");
        var chunked = new StreamContent(new MemoryStream(Encoding.UTF8.GetBytes(fits + fits)));
        chunked.Headers.ContentType = new MediaTypeHeaderValue("text/csv");
        var request = new HttpRequestMessage(HttpMethod.Post, "/api/v1/imports/contacts") { Content = chunked };
        request.Headers.TransferEncodingChunked = true;
        (await Problem.ReadAsync(await client.SendAsync(request), HttpStatusCode.RequestEntityTooLarge)).Detail.ShouldContain("2048 bytes");
        (await Count("SELECT count(*) FROM imports")).ShouldBe(before + 1);
    }

    [Fact]
    public async Task Readonly_can_read_imports_but_not_start_them_and_auditors_can_do_neither()
    {
        var import = await ImportAsync(_member, "firstName,email\nRole,role@check.example.com\n");
        var id = import.GetProperty("id").GetGuid();
        (await Problem.ReadAsync(await PostCsvAsync(_reader, "firstName\nNope\n"), HttpStatusCode.Forbidden))
            .Type.ShouldEndWith("/forbidden");
        (await _reader.GetAsync($"/api/v1/imports/{id}")).StatusCode.ShouldBe(HttpStatusCode.OK);
        await Problem.ReadAsync(await PostCsvAsync(_auditor, "firstName\nNope\n"), HttpStatusCode.Forbidden);
        await Problem.ReadAsync(await _auditor.GetAsync($"/api/v1/imports/{id}"), HttpStatusCode.Forbidden);
        (await Count("SELECT count(*) FROM contacts WHERE first_name = 'Nope'")).ShouldBe(0);
    }

    [Fact]
    public async Task Another_orgs_import_id_is_not_found()
    {
        var otherOwner = await platform.CreateUserAsync();
        var other = await platform.CreateOrganizationAsync(members: [(otherOwner, OrgRole.Owner)]);
        var foreign = await ImportAsync(_api.ClientFor(otherOwner.Id, other.Slug), "firstName,email\nForeign,foreign@other.example.com\n");
        var foreignId = foreign.GetProperty("id").GetGuid();
        var problem = await Problem.ReadAsync(await _owner.GetAsync($"/api/v1/imports/{foreignId}"), HttpStatusCode.NotFound);
        problem.Detail.ShouldContain(foreignId.ToString());
        (await Count("SELECT count(*) FROM contacts WHERE email = 'foreign@other.example.com'")).ShouldBe(0);
        (await PlatformEnvironment.CountRowsAsync(other, "SELECT count(*) FROM contacts WHERE email = 'foreign@other.example.com'"))
            .ShouldBe(1);
    }

    private static (int Read, int Inserted, int Updated, int Skipped, int Failed) Counts(JsonElement import) => (
        import.GetProperty("rowsRead").GetInt32(),
        import.GetProperty("inserted").GetInt32(),
        import.GetProperty("updated").GetInt32(),
        import.GetProperty("skipped").GetInt32(),
        import.GetProperty("failed").GetInt32());

    private Task<long> Count(string sql) => PlatformEnvironment.CountRowsAsync(_org, sql);

    private static Task<HttpResponseMessage> PostCsvAsync(HttpClient client, string csv, string query = "") =>
        PostAsync(client, new StringContent(csv, new UTF8Encoding(false), "text/csv"), query);

    private static Task<HttpResponseMessage> PostAsync(HttpClient client, HttpContent content, string query = "") =>
        client.PostAsync($"/api/v1/imports/contacts{query}", content);

    private static async Task<Guid> ImportIdAsync(HttpResponseMessage response)
    {
        response.StatusCode.ShouldBe(HttpStatusCode.Accepted, await response.Content.ReadAsStringAsync());
        return (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("importId").GetGuid();
    }

    private static async Task<JsonElement> ImportAsync(HttpClient client, string csv, string query = "") =>
        await WaitForImportAsync(client, await ImportIdAsync(await PostCsvAsync(client, csv, query)));

    private static async Task<JsonElement> WaitForImportAsync(HttpClient client, Guid importId)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            var import = await client.GetFromJsonAsync<JsonElement>($"/api/v1/imports/{importId}");
            if (import.GetProperty("status").GetString() is "succeeded" or "failed" || DateTime.UtcNow > deadline)
            {
                return import;
            }

            await Task.Delay(100);
        }
    }
}
