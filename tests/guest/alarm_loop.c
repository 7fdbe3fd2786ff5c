/* SIGALRM from setitimer interrupts a busy loop three times, then alarm() once more; the loop
   stops when the handler says so. What it prints does not depend on timing. */
#include <signal.h>
#include <stdio.h>
#include <sys/time.h>
#include <unistd.h>

static volatile sig_atomic_t ticks;

static void on_alarm(int sig)
{
    (void)sig;
    ticks++;
}

int main(void)
{
    signal(SIGALRM, on_alarm);
    struct itimerval timer = {{0, 20000}, {0, 20000}};
    setitimer(ITIMER_REAL, &timer, NULL);
    volatile unsigned long spins = 0;
    while (ticks < 3)
        spins++;
    struct itimerval off = {{0, 0}, {0, 0}};
    setitimer(ITIMER_REAL, &off, NULL);
    printf("ticks %d after a busy loop\n", (int)ticks);

    alarm(1);
    while (ticks < 4)
        spins++;
    printf("alarm interrupted the loop: ticks %d, remaining %u\n", (int)ticks, alarm(0));

    struct itimerval now;
    getitimer(ITIMER_REAL, &now);
    printf("timer disarmed: %ld.%06ld\n", (long)now.it_value.tv_sec, (long)now.it_value.tv_usec);
    return 0;
}
