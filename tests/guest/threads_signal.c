/* A main thread that waits for a signal another thread sends: pause() until a worker's
   kill(SIGUSR1), then sigsuspend() until the worker's second one. The worker blocks SIGUSR1, so
   the main thread is the one that takes it. The waits must let the worker run rather than block
   the whole process. */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <unistd.h>

static volatile sig_atomic_t received;
static volatile int ready_for_second; /* the main thread has taken the first signal and waits for the second */

static void on_usr1(int signal) { (void)signal; received++; }

static void *send_twice(void *unused)
{
    (void)unused;
    sigset_t usr1;
    sigemptyset(&usr1);
    sigaddset(&usr1, SIGUSR1);
    pthread_sigmask(SIG_BLOCK, &usr1, NULL);
    volatile unsigned long spin = 0;
    for (unsigned long i = 0; i < 2000000; i++)
        spin += i;
    kill(getpid(), SIGUSR1);
    while (!ready_for_second)
        sched_yield();
    for (unsigned long i = 0; i < 2000000; i++)
        spin += i;
    kill(getpid(), SIGUSR1);
    return NULL;
}

int main(void)
{
    struct sigaction action = { .sa_handler = on_usr1 };
    sigaction(SIGUSR1, &action, NULL);
    sigset_t blocked, old;
    sigemptyset(&blocked);
    sigaddset(&blocked, SIGUSR1);

    pthread_t worker;
    pthread_create(&worker, NULL, send_twice, NULL);
    while (received < 1)
        pause();
    printf("pause ended by the worker's signal: %d\n", (int)received);

    sigprocmask(SIG_BLOCK, &blocked, &old);
    ready_for_second = 1;
    while (received < 2)
        sigsuspend(&old);
    sigprocmask(SIG_SETMASK, &old, NULL);
    printf("sigsuspend ended by the worker's signal: %d\n", (int)received);
    pthread_join(worker, NULL);
    return 0;
}
