/* Child processes: a child writes lines into a pipe that the parent counts (argv[2] of them,
 * 5000 by default) and sets its own copy of a global the parent set before the fork, a child execs the program named by argv[1] (or exits when none is given), a child is killed by SIGTERM, a vfork
 * child execs and the parent waits, and SIGCHLD reaches the parent's handler. The parent prints
 * each child's pid as fork returned it ("forked"), and waits for every child before it prints, so
 * the output is the same on every run but for the pids. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile sig_atomic_t sigchld_count;
static volatile int marker;

static void on_sigchld(int signal)
{
    (void)signal;
    sigchld_count++;
}

static void report(const char *what, pid_t child)
{
    int status;
    pid_t waited;
    while ((waited = waitpid(child, &status, 0)) < 0 && errno == EINTR)
        ;
    if (waited != child) {
        printf("%s: waitpid failed: %s\n", what, strerror(errno));
        exit(1);
    }
    if (WIFEXITED(status))
        printf("%s exited with %d\n", what, WEXITSTATUS(status));
    else if (WIFSIGNALED(status))
        printf("%s killed by signal %d\n", what, WTERMSIG(status));
}

int main(int argc, char **argv)
{
    struct sigaction action = { .sa_handler = on_sigchld, .sa_flags = SA_RESTART };
    sigaction(SIGCHLD, &action, NULL);

    int count = argc > 2 ? atoi(argv[2]) : 5000;
    if (argc > 3)
        printf("marker at %p\n", (void *)&marker);
    marker = 1;
    int fds[2];
    if (pipe(fds) != 0)
        return 1;
    fflush(stdout);
    pid_t writer = fork();
    if (writer == 0) {
        marker = 2;
        close(fds[0]);
        FILE *out = fdopen(fds[1], "w");
        for (int i = 0; i < count; i++)
            fprintf(out, "line %d\n", i);
        fclose(out);
        _exit(7);
    }
    close(fds[1]);
    FILE *in = fdopen(fds[0], "r");
    char line[64];
    long lines = 0, sum = 0;
    while (fgets(line, sizeof line, in)) {
        lines++;
        sum += atol(line + 5);
    }
    fclose(in);
    printf("read %ld lines, sum %ld\n", lines, sum);
    report("writer", writer);
    printf("marker in the parent after the child set its own: %d\n", marker);

    fflush(stdout);
    pid_t execd = fork();
    if (execd == 0) {
        if (argc > 1)
            execl(argv[1], argv[1], (char *)NULL);
        _exit(argc > 1 ? 127 : 0);
    }
    report("exec child", execd);
    printf("forked %d\n", (int)execd);

    pid_t victim = fork();
    if (victim == 0) {
        for (;;)
            pause();
    }
    kill(victim, SIGTERM);
    report("victim", victim);

    fflush(stdout);
    pid_t spawned = vfork();
    if (spawned == 0) {
        execl("/bin/true", "true", (char *)NULL);
        _exit(127);
    }
    report("vfork child", spawned);

    printf("getppid of a child is the parent: ");
    fflush(stdout);
    pid_t parent = getpid();
    pid_t checker = fork();
    if (checker == 0)
        _exit(getppid() == parent ? 0 : 1);
    report("checker", checker);
    printf("SIGCHLD handled %s\n", sigchld_count >= 5 ? "for every child" : "too few times");
    return 0;
}
