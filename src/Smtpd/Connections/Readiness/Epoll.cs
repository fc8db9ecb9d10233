using System.Runtime.InteropServices;

namespace Smtpd;

/// <summary>
/// The Linux <c>epoll</c> calls the readiness loop needs (<c>epoll_create1</c>, <c>epoll_ctl</c>, <c>epoll_wait</c>) and
/// the layout of <c>struct epoll_event</c>, which is packed (12 bytes) on x86 and x64 and naturally aligned (16 bytes)
/// elsewhere, so events are read from and written to raw bytes at the offsets of the running architecture.
/// </summary>
internal static partial class Epoll
{
    public const uint In = 0x001;
    public const uint Out = 0x004;
    public const uint Error = 0x008;
    public const uint HangUp = 0x010;
    public const uint ReadHangUp = 0x2000;
    public const uint EdgeTriggered = 1u << 31;

    public const int Add = 1;
    public const int Modify = 3;

    private const int CloseOnExec = 0x80000;
    private const int Interrupted = 4;

    /// <summary>Epoll exists (Linux) and this process's <c>struct epoll_event</c> layout is known.</summary>
    public static bool IsSupported { get; } = OperatingSystem.IsLinux() && RuntimeInformation.ProcessArchitecture is
        Architecture.X64 or Architecture.X86 or Architecture.Arm64 or Architecture.Arm or Architecture.RiscV64 or Architecture.LoongArch64
        or Architecture.S390x or Architecture.Ppc64le;

    /// <summary>The size of one <c>struct epoll_event</c>.</summary>
    public static int EventSize { get; } = IsPacked ? 12 : 16;

    private static bool IsPacked => RuntimeInformation.ProcessArchitecture is Architecture.X64 or Architecture.X86;

    private static int DataOffset => IsPacked ? 4 : 8;

    /// <summary>A new epoll instance (closed on exec).</summary>
    public static int Create()
    {
        int epoll = EpollCreate1(CloseOnExec);
        return epoll >= 0 ? epoll : throw new System.ComponentModel.Win32Exception(Marshal.GetLastPInvokeError(), "epoll_create1 failed");
    }

    /// <summary>Adds or modifies <paramref name="descriptor"/> with <paramref name="events"/> and <paramref name="data"/>; the error number, or 0.</summary>
    public static int Control(int epoll, int operation, int descriptor, uint events, ulong data)
    {
        Span<byte> entry = stackalloc byte[16];
        entry.Clear();
        MemoryMarshal.Write(entry, in events);
        MemoryMarshal.Write(entry[DataOffset..], in data);
        return EpollCtl(epoll, operation, descriptor, ref MemoryMarshal.GetReference(entry)) == 0 ? 0 : Marshal.GetLastPInvokeError();
    }

    /// <summary>Waits for events (no time limit) into <paramref name="events"/>; the number of events, 0 after an interruption by a signal.</summary>
    public static int Wait(int epoll, Span<byte> events)
    {
        int count = EpollWait(epoll, ref MemoryMarshal.GetReference(events), events.Length / EventSize, -1);
        if (count >= 0)
        {
            return count;
        }

        int error = Marshal.GetLastPInvokeError();
        return error == Interrupted ? 0 : throw new System.ComponentModel.Win32Exception(error, "epoll_wait failed");
    }

    /// <summary>The event mask of entry <paramref name="index"/>.</summary>
    public static uint EventsAt(ReadOnlySpan<byte> events, int index) => MemoryMarshal.Read<uint>(events[(index * EventSize)..]);

    /// <summary>The data of entry <paramref name="index"/>.</summary>
    public static ulong DataAt(ReadOnlySpan<byte> events, int index) => MemoryMarshal.Read<ulong>(events[((index * EventSize) + DataOffset)..]);

    [LibraryImport("libc", EntryPoint = "epoll_create1", SetLastError = true)]
    private static partial int EpollCreate1(int flags);

    [LibraryImport("libc", EntryPoint = "epoll_ctl", SetLastError = true)]
    private static partial int EpollCtl(int epoll, int operation, int descriptor, ref byte entry);

    [LibraryImport("libc", EntryPoint = "epoll_wait", SetLastError = true)]
    private static partial int EpollWait(int epoll, ref byte events, int maxEvents, int timeout);
}
