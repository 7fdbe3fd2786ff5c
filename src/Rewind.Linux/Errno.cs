namespace Rewind.Linux;

/// <summary>Linux errno values that the runtime itself returns (handlers return them negated).</summary>
public static class Errno
{
    public const int EPERM = 1, ENOENT = 2, ESRCH = 3, EINTR = 4, EIO = 5, ENXIO = 6, E2BIG = 7, ENOEXEC = 8,
        EBADF = 9, ECHILD = 10, EAGAIN = 11, ENOMEM = 12, EACCES = 13, EFAULT = 14, EBUSY = 16, EEXIST = 17,
        EXDEV = 18, ENODEV = 19, ENOTDIR = 20, EISDIR = 21, EINVAL = 22, ENFILE = 23, EMFILE = 24, ENOTTY = 25,
        EFBIG = 27, ENOSPC = 28, ESPIPE = 29, EROFS = 30, EPIPE = 32, ERANGE = 34, ENAMETOOLONG = 36,
        ENOSYS = 38, ENOTEMPTY = 39, ELOOP = 40, ENODATA = 61, EOVERFLOW = 75, ENOTSOCK = 88,
        EOPNOTSUPP = 95, EAFNOSUPPORT = 97, ETIMEDOUT = 110;

    /// <summary>
    /// Never seen by the guest, as in Linux: the syscall is to run again when its thread next runs
    /// (it would have blocked while another thread could run; see <see cref="Execution.Scheduler"/>).
    /// </summary>
    public const int ERESTARTSYS = 512;
}
