using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace Smtpd;

/// <summary>
/// Receives and sends of a socket on a readiness loop, each non-blocking by itself (<c>MSG_DONTWAIT</c>), so the socket's
/// descriptor stays in blocking mode: no <c>fcntl</c> pair per accepted connection, and none of the runtime's
/// asynchronous-socket state that <see cref="Socket.Blocking"/> <c>= false</c> creates. Linux only (where the readiness
/// loops exist); the error numbers are Linux's.
/// </summary>
internal static unsafe partial class NonBlockingIo
{
    private const int DontWait = 0x40;
    private const int NoSignal = 0x4000;
    private const int GetStatusFlags = 3;
    private const int SetStatusFlags = 4;
    private const int NonBlocking = 0x800;

    /// <summary>Receives into <paramref name="buffer"/> (<paramref name="flags"/>: <see cref="SocketFlags.None"/> or <see cref="SocketFlags.Peek"/>); the bytes received, 0 at the end of the stream.</summary>
    public static int Receive(SafeSocketHandle socket, Span<byte> buffer, SocketFlags flags, out SocketError error)
    {
        fixed (byte* bytes = buffer)
        {
            int received;
            while (!Completed(Recv(socket, bytes, (nuint)buffer.Length, (int)flags | DontWait), out received, out error))
            {
            }

            return received;
        }
    }

    /// <summary>Sends what the socket takes of <paramref name="buffer"/> now; the bytes sent.</summary>
    public static int Send(SafeSocketHandle socket, ReadOnlySpan<byte> buffer, out SocketError error)
    {
        fixed (byte* bytes = buffer)
        {
            int sent;
            while (!Completed(SendTo(socket, bytes, (nuint)buffer.Length, DontWait | NoSignal), out sent, out error))
            {
            }

            return sent;
        }
    }

    /// <summary>The outcome of one call: <see langword="false"/> when a signal interrupted it (call again).</summary>
    private static bool Completed(nint result, out int transferred, out SocketError error)
    {
        if (result >= 0)
        {
            transferred = (int)result;
            error = SocketError.Success;
            return true;
        }

        transferred = 0;
        error = ErrorOf(Marshal.GetLastPInvokeError());
        return error != SocketError.Interrupted;
    }

    /// <summary>
    /// Makes the descriptor of a listening socket non-blocking without telling the runtime: an accept with nothing
    /// pending then fails with <see cref="SocketError.WouldBlock"/> instead of blocking the loop, while the runtime, which
    /// still sees a blocking listener, leaves the sockets it accepts alone (for a listener non-blocking in its own terms
    /// it makes each accepted socket non-blocking too: an <c>fcntl</c> pair and its asynchronous-socket state).
    /// </summary>
    public static bool TryMakeDescriptorNonBlocking(SafeSocketHandle socket)
    {
        if (!Epoll.IsSupported)
        {
            return false;
        }

        bool added = false;
        try
        {
            socket.DangerousAddRef(ref added);
            int descriptor = (int)socket.DangerousGetHandle();
            int flags = Fcntl(descriptor, GetStatusFlags, 0);
            return flags >= 0 && Fcntl(descriptor, SetStatusFlags, flags | NonBlocking) == 0;
        }
        finally
        {
            if (added)
            {
                socket.DangerousRelease();
            }
        }
    }

    /// <summary>The socket error of a Linux error number (those a connected stream socket reports; any other is a generic error).</summary>
    private static SocketError ErrorOf(int errno) => errno switch
    {
        4 => SocketError.Interrupted,
        11 => SocketError.WouldBlock,
        9 => SocketError.OperationAborted,
        32 => SocketError.Shutdown,
        103 => SocketError.ConnectionAborted,
        104 => SocketError.ConnectionReset,
        107 => SocketError.NotConnected,
        110 => SocketError.TimedOut,
        113 => SocketError.HostUnreachable,
        _ => SocketError.SocketError,
    };

    [LibraryImport("libc", EntryPoint = "fcntl")]
    private static partial int Fcntl(int descriptor, int command, int argument);

    [LibraryImport("libc", EntryPoint = "recv", SetLastError = true)]
    private static partial nint Recv(SafeSocketHandle socket, byte* buffer, nuint length, int flags);

    [LibraryImport("libc", EntryPoint = "send", SetLastError = true)]
    private static partial nint SendTo(SafeSocketHandle socket, byte* buffer, nuint length, int flags);
}
