/* A reader thread waits (poll, then read) on a pipe that the main thread fills with 256 KiB,
   more than the pipe holds, so that each side blocks in turn: the reader on an empty pipe, the
   writer on a full one. The reader prints how many bytes it got and their checksum. */
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

enum { Total = 256 * 1024, Chunk = 1000 };

static int pipe_fds[2];

static void *read_all(void *unused)
{
    (void)unused;
    unsigned long bytes = 0, checksum = 0;
    char buffer[4096];
    for (;;) {
        struct pollfd entry = { .fd = pipe_fds[0], .events = POLLIN };
        if (poll(&entry, 1, -1) != 1)
            break;
        ssize_t n = read(pipe_fds[0], buffer, sizeof buffer);
        if (n <= 0)
            break;
        for (ssize_t i = 0; i < n; i++)
            checksum = checksum * 31 + (unsigned char)buffer[i];
        bytes += (unsigned long)n;
    }
    printf("reader got %lu bytes, checksum %lx\n", bytes, checksum);
    return NULL;
}

int main(void)
{
    if (pipe(pipe_fds) != 0)
        return 1;
    pthread_t reader;
    pthread_create(&reader, NULL, read_all, NULL);
    char chunk[Chunk];
    for (int written = 0; written < Total;) {
        int n = Total - written < Chunk ? Total - written : Chunk;
        for (int i = 0; i < n; i++)
            chunk[i] = (char)('a' + (written + i) % 26);
        if (write(pipe_fds[1], chunk, (size_t)n) != n)
            return 2;
        written += n;
    }
    close(pipe_fds[1]);
    pthread_join(reader, NULL);
    puts("writer done");
    return 0;
}
