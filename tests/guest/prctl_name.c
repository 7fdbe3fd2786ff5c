/* The task name: starts as the executable's base name cut to 15 characters, and
   changes with prctl(PR_SET_NAME), which also cuts it to 15. */
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>

static int print_name(const char *label)
{
    char name[32];
    memset(name, 'x', sizeof name);
    if (prctl(PR_GET_NAME, name, 0, 0, 0) != 0) {
        perror("prctl(PR_GET_NAME)");
        return 1;
    }
    name[sizeof name - 1] = 0;
    printf("%s name=%s (length %zu)\n", label, name, strlen(name));
    return 0;
}

int main(void)
{
    if (print_name("initial") != 0)
        return 1;
    if (prctl(PR_SET_NAME, "rewind-guest-with-a-long-name", 0, 0, 0) != 0) {
        perror("prctl(PR_SET_NAME)");
        return 1;
    }
    if (print_name("after PR_SET_NAME") != 0)
        return 1;
    if (prctl(PR_SET_NAME, "short", 0, 0, 0) != 0) {
        perror("prctl(PR_SET_NAME)");
        return 1;
    }
    return print_name("after second PR_SET_NAME");
}
