/* Writes a line, then dereferences NULL: the program must die of SIGSEGV (status 139)
   with the line already out. */
#include <stdio.h>

int main(void)
{
    printf("before\n");
    fflush(stdout);
    volatile int *p = NULL;
    *p = 42;
    printf("after\n");
    return 0;
}
