/* int3 raises SIGTRAP: caught, the handler sees si_code SI_KERNEL and REG_RIP just past the int3;
   returning continues after it. Uncaught (given "die"), the program dies with status 133. */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <ucontext.h>

static volatile int traps, kernel_code;

static void on_trap(int sig, siginfo_t *info, void *context)
{
    (void)sig;
    (void)context;
    traps++;
    kernel_code = info->si_code == SI_KERNEL;
}

int main(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "die") != 0) {
        struct sigaction action = {0};
        action.sa_sigaction = on_trap;
        action.sa_flags = SA_SIGINFO;
        sigaction(SIGTRAP, &action, NULL);
    }
    printf("before int3\n");
    fflush(stdout);
    __asm__ volatile("int3");
    __asm__ volatile("int3");
    printf("after two int3: traps %d, SI_KERNEL %d\n", traps, kernel_code);
    return 0;
}
