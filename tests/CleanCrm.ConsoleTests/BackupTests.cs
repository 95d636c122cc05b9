using System.Text.RegularExpressions;
using CleanCrm.ConsoleTests.Support;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace CleanCrm.ConsoleTests;

/// <summary>A backup taken from the console and restored side by side next to the live database.</summary>
public sealed class BackupTests(ConsoleStack stack) : ConsoleTest(stack)
{
    [Fact]
    public Task A_backup_taken_in_the_console_is_restored_side_by_side() =>
        ScenarioAsync(nameof(A_backup_taken_in_the_console_is_restored_side_by_side), async page =>
        {
            var organization = await Stack.Api.ActiveOrganizationAsync("backup");
            await SignInAsAdminAsync(page);
            await OpenOrganizationAsync(page, organization);

            await Button(Form(page, "Take backup"), "Take backup now").ClickAsync();
            var backups = Table(page, "Backups").Locator("tbody tr");
            // The backup runs on the worker; the list shows it once it is done (reloading in case the table is not live).
            var succeeded = backups.Filter(new() { HasText = "succeeded" });
            await EventuallyAsync(async () =>
            {
                if (await succeeded.CountAsync() > 0)
                {
                    return true;
                }

                await page.ReloadAsync();
                return await succeeded.CountAsync() > 0;
            }, $"a succeeded backup of {organization.Slug} in the Backups table");

            await Button(succeeded.First, "Restore").ClickAsync();
            var restore = Form(page, "Restore backup");
            await restore.GetByLabel("Side by side", new() { Exact = true }).CheckAsync();
            await Button(restore, "Start restore").ClickAsync();

            // Side by side ends verified (restored and checked, waiting for a decision); failed is a failure.
            await Expect(page.GetByTestId("restore-status")).ToHaveTextAsync(
                new Regex(@"^\s*(verified|succeeded)\s*$"), new() { Timeout = (float)LiveTimeout.TotalMilliseconds });
            await Expect(page.GetByRole(AriaRole.Button, new() { Name = "Confirm switch", Exact = true })).ToBeVisibleAsync();
            await ExpectOrganizationStatusAsync(page, "active");
        });
}
