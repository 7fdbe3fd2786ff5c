/* Writing to a pipe whose reader is closed: with SIGPIPE ignored, write fails with EPIPE;
   with the default action (given "die"), the program dies of SIGPIPE (status 141). */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    int fds[2];
    pipe(fds);
    close(fds[0]);
    if (argc > 1 && strcmp(argv[1], "die") == 0) {
        signal(SIGPIPE, SIG_DFL);
        printf("writing with SIGPIPE at its default\n");
        fflush(stdout);
    } else {
        signal(SIGPIPE, SIG_IGN);
    }
    ssize_t written = write(fds[1], "x", 1);
    printf("write returned %zd, errno %s\n", written, written < 0 && errno == EPIPE ? "EPIPE" : "other");
    return 0;
}
