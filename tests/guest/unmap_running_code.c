/* Code that unmaps the page it runs from: the syscall returns, and fetching the next
   instruction raises SIGSEGV (SEGV_MAPERR) at that instruction. Code that then runs in a page
   mapped again at the same address is the new code, not the old translation. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static sigjmp_buf back;
static unsigned char *page;

static void on_segv(int signal, siginfo_t *info, void *context)
{
    (void)context;
    printf("signal %s code %d at offset %ld\n", sigabbrev_np(signal), info->si_code, (unsigned char *)info->si_addr - page);
    siglongjmp(back, 1);
}

int main(void)
{
    page = mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    /* munmap(rdi = page, rsi = 4096) from inside the page, then return 7 */
    static const unsigned char unmapper[] = {
        0xb8, 0x0b, 0x00, 0x00, 0x00, /* mov eax, 11 (munmap) */
        0x0f, 0x05,                   /* syscall */
        0xb8, 0x07, 0x00, 0x00, 0x00, /* mov eax, 7 */
        0xc3,                         /* ret */
    };
    memcpy(page, unmapper, sizeof unmapper);
    struct sigaction action = {.sa_sigaction = on_segv, .sa_flags = SA_SIGINFO};
    sigaction(SIGSEGV, &action, NULL);
    for (int round = 0; round < 3; round++) {
        if (sigsetjmp(back, 1) == 0) {
            long result = ((long (*)(void *, long))page)(page, 4096);
            printf("returned %ld\n", result);
        }
        /* the same address again, with other code: mov eax, round; ret */
        if (mmap(page, 4096, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) != page)
            return 1;
        unsigned char other[] = {0xb8, (unsigned char)(40 + round), 0x00, 0x00, 0x00, 0xc3};
        memcpy(page, other, sizeof other);
        printf("new code returns %d\n", ((int (*)(void))page)());
        memcpy(page, unmapper, sizeof unmapper);
    }
    return 0;
}
