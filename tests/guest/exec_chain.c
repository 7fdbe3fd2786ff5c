/* Ground truth for execve: the first image checks two failing execs, opens one close-on-exec and
   one inherited descriptor, ignores SIGUSR1 and handles SIGUSR2, renames itself, then executes
   itself again through /proc/self/exe. The second image prints what it was given and what it
   inherited; every value it prints is one that a native run prints too. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

static void on_usr2(int signal) { (void)signal; }

static const char *disposition(int signal)
{
    struct sigaction action;
    sigaction(signal, NULL, &action);
    return action.sa_handler == SIG_IGN ? "ignored" : action.sa_handler == SIG_DFL ? "default" : "handled";
}

static int second_image(int argc, char **argv)
{
    char name[16] = {0};
    prctl(PR_GET_NAME, name);
    printf("second image: argc=%d argv[2]=%s env=%s\n", argc, argv[2], getenv("EXEC_CHAIN"));
    printf("same pid: %s\n", atoi(argv[3]) == getpid() ? "yes" : "no");
    printf("task name: %s\n", name);
    printf("fd 3 (close-on-exec): %s, fd 4: %s\n", fcntl(3, F_GETFD) < 0 ? "closed" : "open", fcntl(4, F_GETFD) < 0 ? "closed" : "open");
    printf("SIGUSR1: %s, SIGUSR2: %s\n", disposition(SIGUSR1), disposition(SIGUSR2));
    return 7;
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "again") == 0)
        return second_image(argc, argv);

    char *missing[] = {"nowhere", NULL};
    execv("/nonexistent/program", missing);
    printf("missing program: %s\n", strerror(errno));
    execv("/etc/passwd", missing);
    printf("not executable: %s\n", strerror(errno));

    int close_on_exec = open("/dev/null", O_RDONLY | O_CLOEXEC);
    int inherited = open("/dev/null", O_RDONLY);
    printf("descriptors %d and %d\n", close_on_exec, inherited);
    signal(SIGUSR1, SIG_IGN);
    signal(SIGUSR2, on_usr2);
    prctl(PR_SET_NAME, "renamed");
    setenv("EXEC_CHAIN", "passed on", 1);
    printf("first image: %s\n", disposition(SIGUSR2));
    fflush(stdout);

    char pid[16];
    snprintf(pid, sizeof pid, "%d", getpid());
    char *args[] = {argv[0], "again", "third argument", pid, NULL};
    execv("/proc/self/exe", args);
    perror("execv");
    return 1;
}
