/* mprotect on code: a page of code made PROT_NONE (or only PROT_READ) cannot run any more (SIGSEGV,
   SEGV_ACCERR, at its first instruction), even though it ran and was translated just before; made
   executable again, it runs. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

static sigjmp_buf back;
static unsigned char *page;

static void on_segv(int signal, siginfo_t *info, void *context)
{
    (void)context;
    printf("  signal %s code %d at offset %ld\n", sigabbrev_np(signal), info->si_code, (unsigned char *)info->si_addr - page);
    siglongjmp(back, 1);
}

static void call(const char *what)
{
    if (sigsetjmp(back, 1) == 0)
        printf("%s: returned %d\n", what, ((int (*)(void *))page)(page));
    else
        printf("%s: faulted\n", what);
}

int main(void)
{
    page = mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    static const unsigned char five[] = {0xb8, 0x05, 0x00, 0x00, 0x00, 0xc3}; /* mov eax, 5; ret */
    memcpy(page, five, sizeof five);
    struct sigaction action = {.sa_sigaction = on_segv, .sa_flags = SA_SIGINFO};
    sigaction(SIGSEGV, &action, NULL);
    call("rwx");
    mprotect(page, 4096, PROT_NONE);
    call("none");
    mprotect(page, 4096, PROT_READ);
    call("read only");
    mprotect(page, 4096, PROT_READ | PROT_EXEC);
    call("read and execute");
    return 0;
}
