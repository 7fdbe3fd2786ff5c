/* abort() raises SIGABRT with tgkill: the program dies with status 134. */
#include <stdio.h>
#include <stdlib.h>

int main(void)
{
    printf("about to abort\n");
    fflush(stdout);
    abort();
}
