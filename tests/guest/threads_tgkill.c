/* Signals sent to one thread (pthread_kill, that is tgkill) run their handler in that thread:
 * the main thread blocks SIGUSR1 and SIGUSR2 and sends one to each of two workers, which wait for
 * theirs in sigsuspend; each handler records which thread ran it. */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>

static volatile sig_atomic_t handled_by[2] = { -1, -1 };
static __thread int thread_number;

static void on_signal(int signal)
{
    handled_by[signal == SIGUSR1 ? 0 : 1] = thread_number;
}

static void *worker(void *argument)
{
    thread_number = (int)(long)argument;
    sigset_t mine, none;
    sigemptyset(&mine);
    sigaddset(&mine, thread_number == 1 ? SIGUSR1 : SIGUSR2);
    sigemptyset(&none);
    pthread_sigmask(SIG_UNBLOCK, &mine, NULL);
    while (handled_by[thread_number - 1] < 0)
        sigsuspend(&none);
    return NULL;
}

int main(void)
{
    struct sigaction action = { .sa_handler = on_signal };
    sigaction(SIGUSR1, &action, NULL);
    sigaction(SIGUSR2, &action, NULL);
    sigset_t both;
    sigemptyset(&both);
    sigaddset(&both, SIGUSR1);
    sigaddset(&both, SIGUSR2);
    pthread_sigmask(SIG_BLOCK, &both, NULL);

    pthread_t workers[2];
    for (long i = 0; i < 2; i++)
        pthread_create(&workers[i], NULL, worker, (void *)(i + 1));
    pthread_kill(workers[1], SIGUSR2);
    pthread_kill(workers[0], SIGUSR1);
    for (int i = 0; i < 2; i++)
        pthread_join(workers[i], NULL);
    printf("SIGUSR1 handled by thread %d\nSIGUSR2 handled by thread %d\n", (int)handled_by[0], (int)handled_by[1]);
    return 0;
}
