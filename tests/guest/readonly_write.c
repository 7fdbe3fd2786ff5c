/* Writing to a page mapped PROT_READ must kill the program with SIGSEGV. */
#include <stdio.h>
#include <sys/mman.h>

int main(void)
{
    volatile char *page = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (page == MAP_FAILED) {
        perror("mmap");
        return 1;
    }
    printf("read %d\n", page[0]);
    fflush(stdout);
    page[0] = 1;
    printf("write was allowed\n");
    return 0;
}
