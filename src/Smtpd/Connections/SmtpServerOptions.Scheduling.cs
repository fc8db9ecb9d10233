namespace Smtpd;

public sealed partial class SmtpServerOptions
{
    /// <summary>
    /// Run each connection's work on the thread that learns its socket is ready, instead of handing it to the thread
    /// pool: the command is parsed, its handler called and its reply sent right there. Saves a thread hop per socket
    /// event, which is most of the CPU a small message costs. Default <see langword="false"/>.
    /// </summary>
    /// <remarks>
    /// <para>
    /// Unsafe in the way Kestrel's <c>UnsafePreferInlineScheduling</c> is: a handler that blocks its thread (synchronous
    /// I/O, <c>.Result</c> or <c>.Wait()</c> on a task, <c>Thread.Sleep</c>, a lock held for long) stalls every other
    /// connection served by the same thread until it returns. Turn it on only when every handler of the server is
    /// asynchronous all the way down (blocking work moved to <see cref="Task.Run(Action)"/>). Awaiting is fine: what
    /// follows the await runs wherever the awaited operation completes.
    /// </para>
    /// <para>
    /// On Linux the server then waits for its sockets with its own epoll loops (one thread per processor, at most 16,
    /// shared by the process), not with the runtime's socket engine; the listener's accepts run there too. The effect of
    /// the runtime's process-wide <c>DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS=1</c>, for this server only.
    /// Elsewhere, and for streams handed to <see cref="SmtpServer.HandleStreamAsync"/>, it has no effect.
    /// </para>
    /// </remarks>
    public bool UnsafePreferInlineScheduling { get; set; }
}
