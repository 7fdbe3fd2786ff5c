/* A SIGSEGV handler (SA_SIGINFO) that siglongjmps out: the program prints the address it
   computed and the si_addr and si_code the handler got, for an unmapped page (SEGV_MAPERR)
   and a read-only one (SEGV_ACCERR), then carries on with the signal mask restored. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

static sigjmp_buf recovery;
static volatile void *fault_address;
static volatile int fault_code;

static void on_segv(int sig, siginfo_t *info, void *context)
{
    (void)sig;
    (void)context;
    fault_address = info->si_addr;
    fault_code = info->si_code;
    siglongjmp(recovery, 1);
}

static void probe(const char *what, volatile char *target, int write)
{
    if (sigsetjmp(recovery, 1) == 0) {
        if (write)
            *target = 1;
        else
            (void)*target;
        printf("%s: no fault\n", what);
        return;
    }
    printf("%s: fault at offset %ld from the target, si_code %d\n", what,
           (long)((char *)fault_address - (char *)target), fault_code);
}

int main(void)
{
    struct sigaction action = {0};
    action.sa_sigaction = on_segv;
    action.sa_flags = SA_SIGINFO;
    sigaction(SIGSEGV, &action, NULL);

    long page = sysconf(_SC_PAGESIZE);
    char *area = mmap(NULL, 2 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    munmap(area + page, page);
    mprotect(area, page, PROT_READ);

    probe("unmapped read", area + page + 123, 0);
    probe("read-only write", area + 42, 1);
    probe("null write", NULL, 1);

    sigset_t mask;
    sigprocmask(SIG_BLOCK, NULL, &mask);
    printf("SIGSEGV blocked after siglongjmp: %d\n", sigismember(&mask, SIGSEGV));
    return 0;
}
