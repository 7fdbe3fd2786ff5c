/* A parent and its forked child write the same global, each in its own memory: the parent 1 then 2,
   the child 100 then 200. Prints the global's address and both pids, so that a debugger shown one
   process can be checked to see that process's stores only. */
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

volatile long value;

int main(void)
{
    printf("value %p\n", (void *)&value);
    value = 1;
    fflush(stdout);
    pid_t child = fork();
    if (child == 0) {
        value = 100;
        value = 200;
        printf("child %d wrote %ld\n", (int)getpid(), value);
        fflush(stdout);
        _exit(0);
    }
    waitpid(child, NULL, 0);
    value = 2;
    printf("parent %d wrote %ld\n", (int)getpid(), value);
    return 0;
}
