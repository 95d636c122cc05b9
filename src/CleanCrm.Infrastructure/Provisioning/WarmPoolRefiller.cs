using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace CleanCrm.Infrastructure.Provisioning;

/// <summary>
/// The worker's refill loop: tops the warm pools up at start, after every claim (<see cref="WarmPoolRefillSignal"/>) and every
/// <see cref="WarmPoolOptions.RefillIntervalSeconds"/>. Several workers are harmless: one refills, the others find the lock taken.
/// </summary>
public sealed partial class WarmPoolRefiller(
    WarmPool pool,
    WarmPoolRefillSignal signal,
    IOptions<WarmPoolOptions> options,
    ILogger<WarmPoolRefiller> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var interval = TimeSpan.FromSeconds(options.Value.RefillIntervalSeconds);
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                var result = await pool.RefillAsync(null, stoppingToken);
                foreach (var error in result.Errors)
                {
                    LogRefillError(logger, error);
                }
            }
            catch (Exception exception) when (exception is not OperationCanceledException)
            {
                LogRefillFailed(logger, exception);
            }

            await signal.WaitAsync(interval, stoppingToken);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Warm pool refill: {Error}")]
    private static partial void LogRefillError(ILogger logger, string error);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Warm pool refill failed; retried at the next claim or interval")]
    private static partial void LogRefillFailed(ILogger logger, Exception exception);
}
