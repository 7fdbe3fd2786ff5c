/* What the kernel hands a new program: arguments, environment and auxiliary vector. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    printf("argc=%d\n", argc);
    for (int i = 1; i < argc; i++)
        printf("argv[%d]=%s\n", i, argv[i]);
    printf("argv[argc] is NULL: %s\n", argv[argc] == NULL ? "yes" : "no");
    const char *value = getenv("REWIND_TEST_VAR");
    printf("REWIND_TEST_VAR=%s\n", value != NULL ? value : "(unset)");
    printf("AT_PAGESZ=%lu\n", getauxval(AT_PAGESZ));
    printf("sysconf(_SC_PAGESIZE)=%ld\n", sysconf(_SC_PAGESIZE));
    unsigned char *random = (unsigned char *)getauxval(AT_RANDOM);
    printf("AT_RANDOM non-null: %s\n", random != NULL ? "yes" : "no");
    const char *execfn = (const char *)getauxval(AT_EXECFN);
    printf("AT_EXECFN=%s\n", execfn != NULL ? execfn : "(null)");
    printf("AT_EXECFN is argv[0]: %s\n", execfn != NULL && strcmp(execfn, argv[0]) == 0 ? "yes" : "no");
    printf("AT_ENTRY non-zero: %s\n", getauxval(AT_ENTRY) != 0 ? "yes" : "no");
    printf("AT_PHDR non-zero: %s\n", getauxval(AT_PHDR) != 0 ? "yes" : "no");
    printf("AT_UID matches getuid: %s\n", getauxval(AT_UID) == (unsigned long)getuid() ? "yes" : "no");
    printf("AT_SECURE=%lu\n", getauxval(AT_SECURE));
    return 0;
}
