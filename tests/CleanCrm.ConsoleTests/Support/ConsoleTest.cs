using System.Text.RegularExpressions;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace CleanCrm.ConsoleTests.Support;

/// <summary>
/// Base of the browser tests: each scenario gets its own browser context; when it fails, the failure says where the page
/// was, keeps a screenshot of it and carries the tails of every process log.
/// </summary>
[Collection(ConsoleCollection.Name)]
public abstract class ConsoleTest(ConsoleStack stack)
{
    /// <summary>How long a live-updated value (status, timeline, job state) may take to reach its end state.</summary>
    protected static readonly TimeSpan LiveTimeout = TimeSpan.FromSeconds(90);

    protected ConsoleStack Stack { get; } = stack;

    protected async Task ScenarioAsync(string name, Func<IPage, Task> scenario)
    {
        Stack.EnsureRunning();
        var page = await Stack.NewPageAsync();
        // A confirm() before a destructive action is accepted: the test decides what it submits.
        page.Dialog += async (_, dialog) => await dialog.AcceptAsync();
        try
        {
            await scenario(page);
        }
        catch (Exception failure)
        {
            var screenshot = Path.Combine(Stack.ScreenshotDirectory, "failures", $"{name}.png");
            Directory.CreateDirectory(Path.GetDirectoryName(screenshot)!);
            try
            {
                await page.ScreenshotAsync(new PageScreenshotOptions { Path = screenshot });
            }
            catch (PlaywrightException)
            {
                screenshot = "(no screenshot: the page is gone)";
            }

            throw new InvalidOperationException(
                $"{failure.Message}\nPage: {page.Url}\nScreenshot: {screenshot}\n{Stack.LogTails(25)}", failure);
        }
        finally
        {
            await page.Context.CloseAsync();
        }
    }

    /// <summary>Goes to the console, which sends an anonymous visitor to the API's sign-in page, and signs in there.</summary>
    protected async Task SignInAsync(IPage page, string email, string password)
    {
        await page.GotoAsync("/");
        await Expect(page).ToHaveURLAsync(new Regex($"^{Regex.Escape(Stack.ApiUrl.ToString().TrimEnd('/'))}/account/login"));
        await page.GetByLabel("Email").FillAsync(email);
        await page.GetByLabel("Password").FillAsync(password);
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
    }

    protected async Task SignInAsAdminAsync(IPage page)
    {
        await SignInAsync(page, Stack.AdminEmail, Stack.AdminPassword);
        await ExpectHeadingAsync(page, "Fleet overview");
    }

    protected static async Task ExpectHeadingAsync(IPage page, string text) =>
        await Expect(page.GetByRole(AriaRole.Heading, new() { Level = 1 })).ToHaveTextAsync(text);

    /// <summary>A viewport screenshot (1280 × 900) under .local/test-results/console-screenshots.</summary>
    protected async Task ScreenshotAsync(IPage page, string name) =>
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(Stack.ScreenshotDirectory, $"{name}.png") });

    /// <summary>A form by its accessible name (<c>&lt;form aria-label&gt;</c>).</summary>
    protected static ILocator Form(IPage page, string name) => page.GetByRole(AriaRole.Form, new() { Name = name, Exact = true });

    protected static ILocator Button(ILocator scope, string name) =>
        scope.GetByRole(AriaRole.Button, new() { Name = name, Exact = true });

    protected static ILocator Table(IPage page, string caption) =>
        page.GetByRole(AriaRole.Table, new() { Name = caption, Exact = true });

    /// <summary>An error of the Application shown as its readable detail in <c>role="alert"</c>, never as JSON.</summary>
    protected static async Task<string> ExpectReadableErrorAsync(IPage page)
    {
        var alert = page.GetByRole(AriaRole.Alert).Filter(new() { HasTextRegex = new Regex(@"\S") }).First;
        await Expect(alert).ToBeVisibleAsync();
        var text = (await alert.InnerTextAsync()).Trim();
        text.ShouldNotBeNullOrWhiteSpace();
        text.ShouldNotStartWith("{", customMessage: "the error is shown as JSON");
        text.ShouldNotContain("\"type\"", customMessage: "the error is shown as JSON");
        text.ShouldNotContain("traceId", customMessage: "the error is shown as JSON");
        return text;
    }

    /// <summary>
    /// Submits a form with its browser-side checks (<c>required</c>, <c>pattern</c>) off, so the server's validation is what
    /// answers, as it would for any client that skips them.
    /// </summary>
    protected static async Task DisableBrowserValidationAsync(ILocator form) =>
        await form.EvaluateAsync("form => { form.noValidate = true; }");

    protected Task<string> OrganizationStatusAsync(IPage page) => page.GetByTestId("org-status").InnerTextAsync();

    protected async Task OpenOrganizationAsync(IPage page, TestOrganization organization)
    {
        await page.GotoAsync($"/organizations/{organization.Id}");
        await ExpectHeadingAsync(page, organization.Name);
    }

    protected static async Task ExpectOrganizationStatusAsync(IPage page, string status, TimeSpan? timeout = null) =>
        await Expect(page.GetByTestId("org-status")).ToHaveTextAsync(
            new Regex($@"^\s*{Regex.Escape(status)}\s*$"),
            new() { Timeout = (float)(timeout ?? LiveTimeout).TotalMilliseconds });

    /// <summary>Polls a condition outside the page (the org's API) until it holds, or fails saying what did not happen.</summary>
    protected static async Task EventuallyAsync(Func<Task<bool>> condition, string what)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"Not within 30 s: {what}.");
            }

            await Task.Delay(250);
        }
    }
}
