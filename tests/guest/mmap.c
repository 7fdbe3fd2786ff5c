/* The address space: anonymous mmap, munmap, mprotect, mremap, MAP_FIXED,
   MAP_FIXED_NOREPLACE, a file mapping of argv[1], and brk through sbrk.
   Addresses are not printed (they differ between runs); facts about them are. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif

static const char *err(void)
{
    return strerrorname_np(errno);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: mmap FILE\n");
        return 2;
    }
    const size_t page = (size_t)sysconf(_SC_PAGESIZE);
    printf("page=%zu\n", page);

    /* anonymous memory starts zeroed and is page aligned */
    unsigned char *a = mmap(NULL, 4 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (a == MAP_FAILED) {
        perror("mmap");
        return 1;
    }
    int zero = 1;
    for (size_t i = 0; i < 4 * page; i++)
        zero &= a[i] == 0;
    printf("anonymous: aligned %d zeroed %d\n", ((uintptr_t)a % page) == 0, zero);
    memset(a, 0x5a, 4 * page);
    printf("written: %02x %02x\n", a[0], a[4 * page - 1]);

    /* mprotect: read-only then back; a read still works */
    printf("mprotect read-only: %d\n", mprotect(a, page, PROT_READ));
    printf("read after mprotect: %02x\n", a[10]);
    printf("mprotect read-write: %d\n", mprotect(a, page, PROT_READ | PROT_WRITE));
    a[10] = 0x11;
    int r = mprotect(a + 1, page, PROT_READ);
    printf("mprotect unaligned: %d %s\n", r, err());

    /* munmap a middle page, then MAP_FIXED_NOREPLACE over it and over a mapped page */
    printf("munmap middle: %d\n", munmap(a + page, page));
    void *hole = mmap(a + page, page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    printf("noreplace into hole: %s\n", hole == a + page ? "placed" : hole == MAP_FAILED ? err() : "elsewhere");
    printf("hole is zeroed: %d\n", hole == a + page && ((unsigned char *)hole)[0] == 0);
    errno = 0;
    void *clash = mmap(a + 2 * page, page, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    printf("noreplace over mapping: %s\n", clash == MAP_FAILED ? err() : "mapped");

    /* MAP_FIXED replaces what was there */
    void *fixed = mmap(a + 3 * page, page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    printf("fixed: placed %d, old contents gone %d, neighbour kept %02x\n", fixed == a + 3 * page,
           fixed == a + 3 * page && a[3 * page] == 0, a[2 * page]);

    /* mremap: grow in place or move, keeping contents */
    unsigned char *b = mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    strcpy((char *)b, "kept across mremap");
    unsigned char *c = mremap(b, page, 16 * page, MREMAP_MAYMOVE);
    printf("mremap grow: %s '%s', tail zeroed %d\n", c == MAP_FAILED ? err() : "ok",
           c == MAP_FAILED ? "" : (char *)c, c != MAP_FAILED && c[16 * page - 1] == 0);
    c[16 * page - 1] = 1;
    unsigned char *d = mremap(c, 16 * page, 2 * page, 0);
    printf("mremap shrink: %s same address %d\n", d == MAP_FAILED ? err() : "ok", d == c);
    r = munmap(d + 1, page);
    printf("munmap unaligned: %d %s\n", r, err());
    printf("munmap: %d %d\n", munmap(d, 2 * page), munmap(a, 4 * page));

    /* a private file mapping sees the file; writes to it stay private */
    int fd = open(argv[1], O_RDONLY);
    if (fd < 0) {
        perror(argv[1]);
        return 1;
    }
    struct stat st;
    fstat(fd, &st);
    char *file = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    if (file == MAP_FAILED) {
        perror("mmap file");
        return 1;
    }
    char head[33] = {0};
    size_t take = st.st_size < 32 ? (size_t)st.st_size : 32;
    memcpy(head, file, take);
    for (size_t i = 0; i < take; i++)
        if (head[i] == '\n')
            head[i] = '|';
    printf("file mapping: size %ld head '%s'\n", (long)st.st_size, head);
    unsigned long sum = 0;
    for (off_t i = 0; i < st.st_size; i++)
        sum = sum * 31 + (unsigned char)file[i];
    printf("file sum %lx\n", sum);
    size_t rounded = ((size_t)st.st_size + page - 1) / page * page;
    int tail_zero = 1;
    for (size_t i = (size_t)st.st_size; i < rounded; i++)
        tail_zero &= file[i] == 0;
    printf("bytes past end of file in last page are zero: %d\n", tail_zero);
    file[0] = '#';
    char first;
    pread(fd, &first, 1, 0);
    printf("private write stays private: %d\n", first != '#' || st.st_size == 0);
    munmap(file, (size_t)st.st_size);
    char *read_only = mmap(NULL, page, PROT_READ, MAP_SHARED, fd, 0);
    printf("shared read-only mapping: %s\n", read_only == MAP_FAILED ? err() : "ok");
    printf("writable shared mapping of O_RDONLY fd: %s\n",
           mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0) == MAP_FAILED ? err() : "mapped");
    close(fd);
    printf("mapping still readable after close: %d\n", read_only != MAP_FAILED && read_only[0] == first);

    /* brk */
    char *start = sbrk(0);
    char *grown = sbrk(3 * (intptr_t)page);
    printf("sbrk grow returns old break: %d\n", grown == start);
    memset(start, 7, 3 * page);
    printf("new break: +%ld\n", (long)((char *)sbrk(0) - start));
    sbrk(-2 * (intptr_t)page);
    printf("shrunk break: +%ld\n", (long)((char *)sbrk(0) - start));
    printf("bad fd: %s\n", mmap(NULL, page, PROT_READ, MAP_PRIVATE, 999, 0) == MAP_FAILED ? err() : "mapped");
    printf("zero length: %s\n", mmap(NULL, 0, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) == MAP_FAILED ? err() : "mapped");
    return 0;
}
