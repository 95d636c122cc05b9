using System.ComponentModel.DataAnnotations;

namespace CleanCrm.Infrastructure.Email;

/// <summary>Outgoing mail (section <c>CleanCrm:Email</c>; docs/OPERATIONS.md).</summary>
public sealed class EmailOptions
{
    public const string SectionName = "CleanCrm:Email";

    [Required(ErrorMessage = "CleanCrm:Email:FromAddress is required (the sender of every mail).")]
    [EmailAddress(ErrorMessage = "CleanCrm:Email:FromAddress must be an email address.")]
    public string FromAddress { get; set; } = "no-reply@cleancrm.local";

    public string FromName { get; set; } = "CleanCrm";

    /// <summary>Where the SPA lives; links in mails point there.</summary>
    [Required(ErrorMessage = "CleanCrm:Email:PublicBaseUrl is required (links in mails point there).")]
    [Url(ErrorMessage = "CleanCrm:Email:PublicBaseUrl must be an absolute http(s) URL.")]
    public string PublicBaseUrl { get; set; } = "http://127.0.0.1:5173";

    /// <summary>
    /// Public base address of the API's account pages (<c>/account/*</c>) in password-reset and verification mails;
    /// defaults to <c>CleanCrm:Identity:Issuer</c>, then to the address of the request that sends the mail.
    /// </summary>
    [Url(ErrorMessage = "CleanCrm:Email:AccountBaseUrl must be an absolute http(s) URL.")]
    public string? AccountBaseUrl { get; set; }

    [Required]
    public SmtpOptions Smtp { get; set; } = new();

    /// <summary>Sending attempts before a message is marked failed (its body is then erased).</summary>
    [Range(1, 50)]
    public int MaxAttempts { get; set; } = 8;

    /// <summary>A pending message not handed to the queue for this long is queued again by the worker's sweeper.</summary>
    [Range(1, 3_600)]
    public int RequeueAfterSeconds { get; set; } = 60;
}

public sealed class SmtpOptions
{
    [Required(ErrorMessage = "CleanCrm:Email:Smtp:Host is required.")]
    public string Host { get; set; } = "127.0.0.1";

    [Range(1, 65_535, ErrorMessage = "CleanCrm:Email:Smtp:Port must be between 1 and 65535.")]
    public int Port { get; set; } = 2525;

    /// <summary><c>None</c> (local catchers), <c>StartTls</c> (port 587) or <c>SslOnConnect</c> (port 465).</summary>
    [RegularExpression("^(None|StartTls|SslOnConnect)$",
        ErrorMessage = "CleanCrm:Email:Smtp:Security must be None, StartTls or SslOnConnect.")]
    public string Security { get; set; } = "None";

    public string? Username { get; set; }

    /// <summary>From the secret store or environment; never in appsettings.</summary>
    public string? Password { get; set; }

    [Range(1, 300)]
    public int TimeoutSeconds { get; set; } = 30;
}
