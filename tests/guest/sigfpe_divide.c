/* Integer division by zero raises SIGFPE with FPE_INTDIV: caught, and left by siglongjmp. */
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>

static sigjmp_buf recovery;
static volatile int code;

static void on_fpe(int sig, siginfo_t *info, void *context)
{
    (void)sig;
    (void)context;
    code = info->si_code;
    siglongjmp(recovery, 1);
}

int main(int argc, char **argv)
{
    (void)argv;
    struct sigaction action = {0};
    action.sa_sigaction = on_fpe;
    action.sa_flags = SA_SIGINFO;
    sigaction(SIGFPE, &action, NULL);

    volatile int zero = argc - 1;
    for (int i = 1; i <= 3; i++) {
        if (sigsetjmp(recovery, 1) == 0)
            printf("%d / 0 = %d\n", i * 10, i * 10 / zero);
        else
            printf("%d / 0: SIGFPE, si_code %d (FPE_INTDIV is %d)\n", i * 10, code, FPE_INTDIV);
    }
    return 0;
}
