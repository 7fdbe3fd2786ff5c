/* Forks a child that exits with status 3; the parent waits for it and prints what it got. */
#include <stdio.h>
#include <string.h>
#include <errno.h>
#include <sys/wait.h>
#include <unistd.h>

int main(void)
{
    fflush(stdout);
    pid_t child = fork();
    if (child < 0) {
        printf("fork failed: %s\n", strerror(errno));
        return 1;
    }
    if (child == 0)
        _exit(3);
    int status;
    if (waitpid(child, &status, 0) != child) {
        printf("waitpid failed: %s\n", strerror(errno));
        return 1;
    }
    printf("child exited with %d\n", WEXITSTATUS(status));
    return 0;
}
