/* The file system calls, in the directory given as argv[1]: open/read/write/lseek,
   pread/pwrite, fstat/stat/lstat, rename, symlink/readlink, unlink, mkdir/rmdir,
   getcwd/chdir, and a sorted readdir listing. Everything it creates it removes,
   except result.txt in argv[1], which shows whether the writes reached the host.
   Paths are printed relative to argv[1] so that runs in different folders agree. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int failures;

#define CHECK(cond)                                                                      \
    do {                                                                                 \
        if (!(cond)) {                                                                   \
            printf("FAIL line %d: %s (errno %s)\n", __LINE__, #cond, strerrorname_np(errno) ? strerrorname_np(errno) : "0"); \
            failures++;                                                                  \
        }                                                                                \
    } while (0)

static const char *error_name(int result)
{
    return result == 0 ? "success" : strerrorname_np(errno);
}

static char base[4096];

static const char *at(const char *relative)
{
    static char paths[4][4096];
    static int next;
    char *path = paths[next++ % 4];
    snprintf(path, 4096, "%s/%s", base, relative);
    return path;
}

static int compare(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void list(const char *relative)
{
    DIR *dir = opendir(at(relative));
    CHECK(dir != NULL);
    if (dir == NULL)
        return;
    char *names[64];
    int count = 0;
    struct dirent *entry;
    while ((entry = readdir(dir)) != NULL && count < 64)
        names[count++] = strdup(entry->d_name);
    closedir(dir);
    qsort(names, (size_t)count, sizeof names[0], compare);
    printf("listing of %s:", relative);
    for (int i = 0; i < count; i++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", relative, names[i]);
        struct stat st;
        char kind = '?';
        if (lstat(at(path), &st) == 0)
            kind = S_ISDIR(st.st_mode) ? 'd' : S_ISLNK(st.st_mode) ? 'l' : S_ISREG(st.st_mode) ? 'f' : 'o';
        printf(" %s(%c)", names[i], kind);
        free(names[i]);
    }
    printf("\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: files DIRECTORY\n");
        return 2;
    }
    if (realpath(argv[1], base) == NULL) {
        perror(argv[1]);
        return 2;
    }

    /* mkdir, and its errors */
    CHECK(mkdir(at("work"), 0755) == 0);
    printf("mkdir existing: %s\n", error_name(mkdir(at("work"), 0755)));
    printf("mkdir in missing parent: %s\n", error_name(mkdir(at("missing/sub"), 0755)));

    /* write, lseek, read */
    int fd = open(at("work/data.txt"), O_CREAT | O_RDWR | O_TRUNC, 0644);
    CHECK(fd >= 0);
    const char text[] = "hello files, this is line one\nand line two\n";
    printf("write: %zd\n", write(fd, text, sizeof text - 1));
    printf("lseek SEEK_CUR: %ld\n", (long)lseek(fd, 0, SEEK_CUR));
    printf("lseek SEEK_SET: %ld\n", (long)lseek(fd, 0, SEEK_SET));
    char buffer[256] = {0};
    ssize_t n = read(fd, buffer, 5);
    printf("read 5: %zd '%.*s'\n", n, (int)n, buffer);
    printf("lseek SEEK_END: %ld\n", (long)lseek(fd, 0, SEEK_END));
    printf("read at end: %zd\n", read(fd, buffer, sizeof buffer));
    printf("lseek before start: %s\n", lseek(fd, -1000, SEEK_SET) < 0 ? strerrorname_np(errno) : "success");

    /* pwrite, pread: the file offset does not move */
    lseek(fd, 3, SEEK_SET);
    printf("pwrite: %zd\n", pwrite(fd, "FILES", 5, 6));
    memset(buffer, 0, sizeof buffer);
    n = pread(fd, buffer, 12, 0);
    printf("pread: %zd '%.*s'\n", n, (int)n, buffer);
    printf("offset after pread/pwrite: %ld\n", (long)lseek(fd, 0, SEEK_CUR));
    printf("pwrite past end: %zd\n", pwrite(fd, "END", 3, 100));

    /* fstat, fchmod, ftruncate */
    struct stat st;
    CHECK(fchmod(fd, 0640) == 0);
    CHECK(fstat(fd, &st) == 0);
    printf("fstat: size %ld regular %d mode %o links %ld\n", (long)st.st_size, S_ISREG(st.st_mode),
           (unsigned)(st.st_mode & 07777), (long)st.st_nlink);
    CHECK(ftruncate(fd, 20) == 0);
    CHECK(fstat(fd, &st) == 0);
    printf("after ftruncate: size %ld\n", (long)st.st_size);

    /* dup shares the offset */
    int copy = dup(fd);
    CHECK(copy >= 0);
    lseek(fd, 6, SEEK_SET);
    memset(buffer, 0, sizeof buffer);
    n = read(copy, buffer, 5);
    printf("read through dup: '%.*s', offset now %ld\n", (int)n, buffer, (long)lseek(fd, 0, SEEK_CUR));
    CHECK(close(copy) == 0);
    CHECK(close(fd) == 0);
    printf("close twice: %s\n", error_name(close(fd)));

    /* O_APPEND, O_EXCL */
    fd = open(at("work/data.txt"), O_WRONLY | O_APPEND);
    CHECK(fd >= 0);
    lseek(fd, 0, SEEK_SET);
    CHECK(write(fd, "+tail", 5) == 5);
    CHECK(close(fd) == 0);
    CHECK(stat(at("work/data.txt"), &st) == 0);
    printf("stat after append: size %ld\n", (long)st.st_size);
    printf("O_EXCL on existing: %s\n", open(at("work/data.txt"), O_CREAT | O_EXCL | O_WRONLY, 0644) < 0 ? strerrorname_np(errno) : "opened");
    printf("open missing: %s\n", open(at("work/none.txt"), O_RDONLY) < 0 ? strerrorname_np(errno) : "opened");

    /* rename, symlink, readlink */
    CHECK(rename(at("work/data.txt"), at("work/renamed.txt")) == 0);
    printf("stat old name: %s\n", error_name(stat(at("work/data.txt"), &st)));
    printf("stat new name: %s\n", error_name(stat(at("work/renamed.txt"), &st)));
    CHECK(symlink("renamed.txt", at("work/link")) == 0);
    char target[256] = {0};
    n = readlink(at("work/link"), target, sizeof target - 1);
    printf("readlink: %zd '%s'\n", n, n > 0 ? target : "");
    CHECK(lstat(at("work/link"), &st) == 0);
    printf("lstat link: symlink %d\n", S_ISLNK(st.st_mode));
    CHECK(stat(at("work/link"), &st) == 0);
    printf("stat through link: regular %d size %ld\n", S_ISREG(st.st_mode), (long)st.st_size);
    printf("access R_OK: %s\n", error_name(access(at("work/renamed.txt"), R_OK)));

    /* more entries, then a sorted listing */
    const char *names[] = {"work/zeta.txt", "work/alpha.txt", "work/Mid.txt"};
    for (int i = 0; i < 3; i++) {
        fd = open(at(names[i]), O_CREAT | O_WRONLY, 0644);
        CHECK(fd >= 0);
        CHECK(write(fd, names[i], strlen(names[i])) == (ssize_t)strlen(names[i]));
        CHECK(close(fd) == 0);
    }
    CHECK(mkdir(at("work/sub"), 0755) == 0);
    list("work");

    /* getcwd, chdir, relative paths */
    char saved[4096];
    CHECK(getcwd(saved, sizeof saved) != NULL);
    CHECK(chdir(at("work/sub")) == 0);
    char cwd[4096];
    CHECK(getcwd(cwd, sizeof cwd) != NULL);
    printf("getcwd after chdir is base/work/sub: %s\n", strcmp(cwd, at("work/sub")) == 0 ? "yes" : "no");
    fd = open("relative.txt", O_CREAT | O_WRONLY, 0644);
    CHECK(fd >= 0);
    CHECK(close(fd) == 0);
    printf("relative file in sub: %s\n", error_name(stat(at("work/sub/relative.txt"), &st)));
    CHECK(chdir("..") == 0);
    CHECK(getcwd(cwd, sizeof cwd) != NULL);
    printf("getcwd after chdir ..: %s\n", strcmp(cwd, at("work")) == 0 ? "base/work" : "elsewhere");
    printf("chdir to a file: %s\n", error_name(chdir("renamed.txt")));
    CHECK(chdir(saved) == 0);

    /* unlink, rmdir, and their errors */
    printf("rmdir non-empty: %s\n", error_name(rmdir(at("work/sub"))));
    printf("unlink a directory: %s\n", error_name(unlink(at("work/sub"))));
    CHECK(unlink(at("work/sub/relative.txt")) == 0);
    CHECK(rmdir(at("work/sub")) == 0);
    printf("unlink missing: %s\n", error_name(unlink(at("work/none.txt"))));
    CHECK(unlink(at("work/link")) == 0);
    CHECK(unlink(at("work/renamed.txt")) == 0);
    for (int i = 0; i < 3; i++)
        CHECK(unlink(at(names[i])) == 0);
    list("work");
    CHECK(rmdir(at("work")) == 0);
    printf("stat removed directory: %s\n", error_name(stat(at("work"), &st)));

    /* the one file left behind */
    FILE *result = fopen(at("result.txt"), "w");
    CHECK(result != NULL);
    if (result != NULL) {
        fprintf(result, "files: %d failures\n", failures);
        CHECK(fclose(result) == 0);
    }
    printf("failures: %d\n", failures);
    return failures == 0 ? 0 : 1;
}
