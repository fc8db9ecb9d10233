using System.Net.Sockets;
using Microsoft.Extensions.Hosting;

namespace Smtpd.Hosting;

/// <summary>
/// Starts one <see cref="SmtpServer"/> registered by <c>AddSmtpServer</c> on its configured endpoints when the host
/// starts, and closes it gracefully (<see cref="SmtpServer.CloseAsync(CancellationToken)"/>) when the host stops.
/// </summary>
/// <param name="server">The server.</param>
/// <param name="hosting">Its endpoints.</param>
internal sealed class SmtpServerHostedService(SmtpServer server, SmtpHostingOptions hosting) : IHostedService
{
    /// <summary>Listens on every endpoint; if one cannot be bound, the others are closed again and the start fails.</summary>
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        IList<SmtpListenOptions> endPoints = hosting.EndPoints;
        foreach (SmtpListenOptions listen in endPoints.Count == 0 ? [SmtpHostingOptions.DefaultEndPoint] : endPoints)
        {
            try
            {
                await server.ListenAsync(listen, cancellationToken);
            }
            catch (SocketException ex)
            {
                await AbortAsync();
                throw new IOException($"Cannot listen on {listen.EndPoint}: {ex.Message}", ex);
            }
            catch
            {
                await AbortAsync();
                throw;
            }
        }
    }

    /// <summary>Closes the listeners at once and the sessions as <see cref="SmtpServerOptions.CloseTimeout"/> says; the host's token aborts what is left.</summary>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        try
        {
            await server.CloseAsync(cancellationToken);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // The host's shutdown timeout expired: CloseAsync has aborted the remaining connections.
        }
    }

    private async Task AbortAsync()
    {
        try
        {
            await server.CloseAsync(new CancellationToken(canceled: true));
        }
        catch (OperationCanceledException)
        {
            // Expected: the cancelled token aborts whatever connected in the meantime.
        }
    }
}
