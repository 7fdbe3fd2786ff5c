/* raise(SIGUSR1) with SA_SIGINFO: the handler sees si_code SI_TKILL and the program's own pid;
   kill(getpid()) gives SI_USER. A blocked signal stays pending until unblocked; SA_RESETHAND
   and SA_NODEFER behave as in Linux. */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static volatile int last_code, last_pid_ok, calls, blocked_inside;

static void on_usr1(int sig, siginfo_t *info, void *context)
{
    (void)context;
    sigset_t now;
    sigprocmask(SIG_BLOCK, NULL, &now);
    blocked_inside = sigismember(&now, sig);
    last_code = info->si_code;
    last_pid_ok = info->si_pid == getpid();
    calls++;
}

int main(void)
{
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_sigaction = on_usr1;
    action.sa_flags = SA_SIGINFO;
    sigaction(SIGUSR1, &action, NULL);

    raise(SIGUSR1);
    printf("raise: calls %d, si_code %d (SI_TKILL %d), si_pid ours %d, blocked in handler %d\n",
           calls, last_code, SI_TKILL, last_pid_ok, blocked_inside);
    kill(getpid(), SIGUSR1);
    printf("kill: calls %d, si_code %d (SI_USER %d)\n", calls, last_code, SI_USER);

    sigset_t block, pending;
    sigemptyset(&block);
    sigaddset(&block, SIGUSR1);
    sigprocmask(SIG_BLOCK, &block, NULL);
    raise(SIGUSR1);
    sigpending(&pending);
    printf("while blocked: calls %d, pending %d\n", calls, sigismember(&pending, SIGUSR1));
    sigprocmask(SIG_UNBLOCK, &block, NULL);
    printf("after unblocking: calls %d\n", calls);

    action.sa_flags = SA_SIGINFO | SA_NODEFER | SA_RESETHAND;
    sigaction(SIGUSR1, &action, NULL);
    raise(SIGUSR1);
    struct sigaction now;
    sigaction(SIGUSR1, NULL, &now);
    printf("nodefer+resethand: calls %d, blocked in handler %d, handler reset %d\n",
           calls, blocked_inside, now.sa_handler == SIG_DFL);

    signal(SIGUSR2, SIG_IGN);
    raise(SIGUSR2);
    printf("ignored SIGUSR2, still here\n");
    fflush(stdout);
    raise(SIGTERM);
    printf("not reached\n");
    return 0;
}
