/* Waiting for signals: sigsuspend with SIGALRM blocked outside the wait, pause, and sigtimedwait
   (taking a blocked signal synchronously, and timing out). */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static volatile int alarms;

static void on_alarm(int sig)
{
    (void)sig;
    alarms++;
}

int main(void)
{
    signal(SIGALRM, on_alarm);
    sigset_t alarm_set, old, during;
    sigemptyset(&alarm_set);
    sigaddset(&alarm_set, SIGALRM);
    sigprocmask(SIG_BLOCK, &alarm_set, &old);

    struct itimerval once = {{0, 0}, {0, 30000}};
    setitimer(ITIMER_REAL, &once, NULL);
    sigemptyset(&during);
    int result = sigsuspend(&during);
    sigset_t now;
    sigprocmask(SIG_BLOCK, NULL, &now);
    printf("sigsuspend returned %d (EINTR %d), alarms %d, SIGALRM blocked again %d\n",
           result, errno == EINTR, alarms, sigismember(&now, SIGALRM));

    sigprocmask(SIG_SETMASK, &old, NULL);
    setitimer(ITIMER_REAL, &once, NULL);
    result = pause();
    printf("pause returned %d (EINTR %d), alarms %d\n", result, errno == EINTR, alarms);

    sigprocmask(SIG_BLOCK, &alarm_set, NULL);
    setitimer(ITIMER_REAL, &once, NULL);
    siginfo_t info;
    int taken = sigwaitinfo(&alarm_set, &info);
    printf("sigwaitinfo took %d (SIGALRM %d), si_code SI_KERNEL %d, alarms %d\n", taken, SIGALRM, info.si_code == SI_KERNEL, alarms);

    struct timespec brief = {0, 10000000};
    taken = sigtimedwait(&alarm_set, &info, &brief);
    printf("sigtimedwait with nothing pending: %d (EAGAIN %d)\n", taken, errno == EAGAIN);
    return 0;
}
