using System.Net;
using System.Text;
using Microsoft.AspNetCore.Antiforgery;

namespace CleanCrm.Api.Endpoints.Account;

/// <summary>A field of an account form: its label, input attributes and the error shown next to it.</summary>
public sealed record AccountField(
    string Name,
    string Label,
    string Type = "text",
    string? Value = null,
    string? Autocomplete = null,
    string? Error = null,
    bool Required = true,
    string? Hint = null,
    string? InputMode = null);

/// <summary>
/// The server-rendered account pages' markup: one layout, one stylesheet (<c>/account/site.css</c>, no external assets),
/// forms with an antiforgery token, labelled fields whose errors sit next to them (<c>aria-describedby</c>, live regions)
/// and focus on the first field that needs attention.
/// </summary>
public static class AccountHtml
{
    public const string StylesheetPath = "/account/site.css";

    public static string Encode(string? value) => WebUtility.HtmlEncode(value ?? string.Empty);

    /// <summary>A whole page; <paramref name="body"/> is trusted markup built with the helpers below.</summary>
    public static IResult Page(string title, string body, int statusCode = StatusCodes.Status200OK)
    {
        var html = $"""
            <!doctype html>
            <html lang="en">
            <head>
            <meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <meta name="robots" content="noindex">
            <title>{Encode(title)} · CleanCrm</title>
            <link rel="stylesheet" href="{StylesheetPath}">
            </head>
            <body>
            <header class="brand"><span class="logo" aria-hidden="true">C</span><span>CleanCrm</span></header>
            <main class="card">
            <h1>{Encode(title)}</h1>
            {body}
            </main>
            <footer class="foot">Secure sign-in for CleanCrm</footer>
            </body>
            </html>
            """;
        return Results.Content(html, "text/html; charset=utf-8", Encoding.UTF8, statusCode);
    }

    public static string Paragraph(string text) => $"<p>{Encode(text)}</p>";

    /// <summary>A form-level message: an error in an assertive live region, or a notice in a polite one.</summary>
    public static string Message(string? text, bool error = true) => text is null
        ? "<div id=\"form-message\" aria-live=\"polite\"></div>"
        : error
            ? $"<div id=\"form-message\" class=\"alert\" role=\"alert\" aria-live=\"assertive\">{Encode(text)}</div>"
            : $"<div id=\"form-message\" class=\"notice\" role=\"status\" aria-live=\"polite\">{Encode(text)}</div>";

    public static string Link(string href, string text) => $"<a href=\"{Encode(href)}\">{Encode(text)}</a>";

    /// <summary>A POST form. The first field with an error (else the first field) gets focus; hidden values are carried as-is.</summary>
    public static string Form(
        HttpContext context,
        IAntiforgery antiforgery,
        string action,
        string label,
        string submit,
        IReadOnlyList<AccountField> fields,
        IReadOnlyDictionary<string, string?>? hidden = null,
        string? afterSubmit = null)
    {
        var tokens = antiforgery.GetAndStoreTokens(context);
        var builder = new StringBuilder();
        builder.Append($"<form method=\"post\" action=\"{Encode(action)}\" aria-label=\"{Encode(label)}\">");
        builder.Append($"<input type=\"hidden\" name=\"{Encode(tokens.FormFieldName)}\" value=\"{Encode(tokens.RequestToken)}\">");
        foreach (var (name, value) in hidden ?? new Dictionary<string, string?>())
        {
            builder.Append($"<input type=\"hidden\" name=\"{Encode(name)}\" value=\"{Encode(value)}\">");
        }

        var focus = fields.FirstOrDefault(f => f.Error is not null) ?? fields.FirstOrDefault();
        foreach (var field in fields)
        {
            builder.Append(Field(field, autofocus: ReferenceEquals(field, focus)));
        }

        builder.Append($"<button type=\"submit\">{Encode(submit)}</button>");
        builder.Append(afterSubmit);
        builder.Append("</form>");
        return builder.ToString();
    }

    private static string Field(AccountField field, bool autofocus)
    {
        var id = field.Name;
        var describedBy = field.Hint is null ? $"{id}-error" : $"{id}-hint {id}-error";
        var attributes = new StringBuilder();
        attributes.Append($" id=\"{id}\" name=\"{Encode(field.Name)}\" type=\"{field.Type}\"");
        if (field.Value is not null && field.Type != "password")
        {
            attributes.Append($" value=\"{Encode(field.Value)}\"");
        }

        if (field.Autocomplete is not null)
        {
            attributes.Append($" autocomplete=\"{field.Autocomplete}\"");
        }

        if (field.InputMode is not null)
        {
            attributes.Append($" inputmode=\"{field.InputMode}\"");
        }

        if (field.Required)
        {
            attributes.Append(" required");
        }

        if (field.Error is not null)
        {
            attributes.Append(" aria-invalid=\"true\"");
        }

        if (autofocus)
        {
            attributes.Append(" autofocus");
        }

        attributes.Append($" aria-describedby=\"{describedBy}\"");
        var hint = field.Hint is null ? string.Empty : $"<p class=\"hint\" id=\"{id}-hint\">{Encode(field.Hint)}</p>";
        var error = $"<p class=\"field-error\" id=\"{id}-error\" aria-live=\"polite\">{Encode(field.Error)}</p>";
        var invalid = field.Error is null ? string.Empty : " invalid";
        return $"<div class=\"field{invalid}\"><label for=\"{id}\">{Encode(field.Label)}</label>{hint}<input{attributes}>{error}</div>";
    }

    /// <summary>The one stylesheet of the account pages: system fonts, readable at 375 px and 1280 px, visible focus.</summary>
    public const string Stylesheet = """
        :root { color-scheme: light; --ink: #1f2933; --muted: #52606d; --line: #cbd2d9; --brand: #1f5fbf; --brand-dark: #174a96;
          --danger: #b42318; --danger-bg: #fdecea; --ok-bg: #e8f3ec; --ok: #1e6b3a; --bg: #f4f6f8; }
        * { box-sizing: border-box; }
        body { margin: 0; min-height: 100vh; display: flex; flex-direction: column; align-items: center; background: var(--bg);
          color: var(--ink); font: 1rem/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
        .brand { display: flex; align-items: center; gap: .5rem; margin: 2.5rem 0 1.25rem; font-weight: 700; font-size: 1.25rem; }
        .logo { display: inline-grid; place-items: center; width: 2rem; height: 2rem; border-radius: .5rem; background: var(--brand);
          color: #fff; font-size: 1.1rem; }
        .card { width: min(100% - 2rem, 26rem); background: #fff; border: 1px solid var(--line); border-radius: .75rem;
          padding: 1.75rem 1.5rem; box-shadow: 0 1px 3px rgba(15, 23, 42, .08); }
        h1 { font-size: 1.5rem; line-height: 1.25; margin: 0 0 1rem; }
        p { margin: 0 0 1rem; }
        form { display: grid; gap: 1rem; }
        .field { display: grid; gap: .3rem; }
        label { font-weight: 600; }
        input { width: 100%; font: inherit; padding: .65rem .75rem; border: 1px solid var(--line); border-radius: .5rem; background: #fff;
          color: inherit; min-height: 2.75rem; }
        input:focus-visible, button:focus-visible, a:focus-visible { outline: 3px solid var(--brand); outline-offset: 2px; }
        .invalid input { border-color: var(--danger); }
        .field-error { color: var(--danger); font-size: .9rem; margin: 0; }
        .field-error:empty { display: none; }
        .hint { color: var(--muted); font-size: .9rem; margin: 0; }
        button { font: inherit; font-weight: 600; min-height: 2.75rem; padding: .65rem 1rem; border: 0; border-radius: .5rem;
          background: var(--brand); color: #fff; cursor: pointer; }
        button:hover { background: var(--brand-dark); }
        a { color: var(--brand); }
        .alert { background: var(--danger-bg); color: var(--danger); border-radius: .5rem; padding: .75rem 1rem; margin-bottom: 1rem; }
        .notice { background: var(--ok-bg); color: var(--ok); border-radius: .5rem; padding: .75rem 1rem; margin-bottom: 1rem; }
        .links { display: flex; flex-wrap: wrap; justify-content: space-between; gap: .5rem; font-size: .95rem; margin: 0; }
        .qr { display: block; width: 12rem; height: 12rem; margin: 0 auto 1rem; }
        .qr svg { width: 100%; height: 100%; }
        .key { display: block; font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; word-break: break-all;
          background: var(--bg); border-radius: .5rem; padding: .5rem .75rem; margin-bottom: 1rem; }
        .codes { display: grid; grid-template-columns: repeat(2, 1fr); gap: .4rem 1rem; list-style: none; padding: .75rem 1rem;
          margin: 0 0 1rem; background: var(--bg); border-radius: .5rem;
          font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }
        .foot { color: var(--muted); font-size: .85rem; margin: 1.5rem 0 2rem; }
        @media (max-width: 420px) {
          .brand { margin-top: 1.25rem; } .card { padding: 1.25rem 1rem; } .codes { grid-template-columns: 1fr; } }
        """;
}
