/* mprotect(PROT_WRITE) on a shared mapping of a file opened read-only fails with EACCES (the
   mapping could write the file otherwise); a private mapping of the same file may become writable,
   and a write to the read-only shared mapping is a SIGSEGV for the program. Argument: a scratch file. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static sigjmp_buf back;

static void on_segv(int signal, siginfo_t *info, void *context)
{
    (void)context;
    printf("signal %s code %d\n", sigabbrev_np(signal), info->si_code);
    siglongjmp(back, 1);
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return 2;
    int fd = open(argv[1], O_RDWR | O_CREAT | O_TRUNC, 0600);
    if (fd < 0 || write(fd, "original", 8) != 8)
        return 1;
    close(fd);
    fd = open(argv[1], O_RDONLY);
    char *shared = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0);
    char *private = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, fd, 0);
    if (shared == MAP_FAILED || private == MAP_FAILED)
        return 1;
    int result = mprotect(shared, 4096, PROT_READ | PROT_WRITE);
    printf("shared: mprotect %d %s\n", result, result ? strerrorname_np(errno) : "");
    result = mprotect(private, 4096, PROT_READ | PROT_WRITE);
    printf("private: mprotect %d %s\n", result, result ? strerrorname_np(errno) : "");
    private[0] = 'X';
    printf("private reads %.8s, shared reads %.8s\n", private, shared);

    struct sigaction action = {.sa_sigaction = on_segv, .sa_flags = SA_SIGINFO};
    sigaction(SIGSEGV, &action, NULL);
    if (sigsetjmp(back, 1) == 0) {
        *(volatile char *)shared = 'Y';
        printf("the write to the read-only shared mapping went through\n");
    }
    printf("shared still reads %.8s\n", shared);
    return 0;
}
