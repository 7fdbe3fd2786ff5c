/* Syscalls the kernel (or Rewind) does not provide fail with ENOSYS and the program
   goes on. io_uring_setup(0, NULL) fails natively too (EINVAL, or ENOSYS/EPERM where
   io_uring is disabled), so only the failure is printed for it. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(void)
{
    errno = 0;
    long r = syscall(549);
    int e = errno;
    printf("syscall(549) = %ld, errno = %s\n", r, e == ENOSYS ? "ENOSYS" : strerror(e));

    errno = 0;
    r = syscall(SYS_io_uring_setup, 0, 0);
    e = errno;
    printf("io_uring_setup(0, NULL) = %ld, failed: %s\n", r, r == -1 && e != 0 ? "yes" : "no");

    printf("still running\n");
    return 0;
}
