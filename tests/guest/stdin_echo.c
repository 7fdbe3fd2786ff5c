/* Copies standard input to standard output, upper-cased, through read/write. */
#include <ctype.h>
#include <stdio.h>
#include <unistd.h>

int main(void)
{
    char buffer[4096];
    long total = 0;
    ssize_t n;
    while ((n = read(0, buffer, sizeof buffer)) > 0) {
        for (ssize_t i = 0; i < n; i++)
            buffer[i] = (char)toupper((unsigned char)buffer[i]);
        for (ssize_t done = 0; done < n;) {
            ssize_t w = write(1, buffer + done, (size_t)(n - done));
            if (w < 0) {
                perror("write");
                return 1;
            }
            done += w;
        }
        total += n;
    }
    if (n < 0) {
        perror("read");
        return 1;
    }
    fprintf(stderr, "stdin_echo: %ld bytes\n", total);
    return 0;
}
