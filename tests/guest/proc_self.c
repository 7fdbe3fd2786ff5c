// The process's own /proc and /dev/fd: each line states a fact about this process that its /proc entries must
// agree with (its pid, parent, arguments, environment, descriptors, memory, limits, threads, a child), so the
// output is the same natively and under emulation although the numbers differ.
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static void check(const char *what, int ok) { printf("%s: %s\n", what, ok ? "yes" : "no"); }

static long read_file(const char *path, char *buffer, size_t size) {
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return -errno;
    long total = 0, n;
    while (total < (long)size - 1 && (n = read(fd, buffer + total, size - 1 - total)) > 0)
        total += n;
    buffer[total] = 0;
    close(fd);
    return total;
}

// The value of "Key:" in a status file, or -1.
static long status_field(const char *path, const char *key) {
    static char text[16384];
    if (read_file(path, text, sizeof text) < 0)
        return -1;
    char *line = strstr(text, key);
    return line ? strtol(line + strlen(key), NULL, 10) : -1;
}

// Whether the directory lists the decimal name of value.
static int lists(const char *path, long value) {
    char name[32];
    snprintf(name, sizeof name, "%ld", value);
    DIR *dir = opendir(path);
    if (!dir)
        return 0;
    int found = 0;
    struct dirent *entry;
    while ((entry = readdir(dir)))
        found |= strcmp(entry->d_name, name) == 0;
    closedir(dir);
    return found;
}

static void *thread_main(void *arg) {
    char path[64];
    snprintf(path, sizeof path, "/proc/self/task/%ld", (long)syscall(SYS_gettid));
    struct stat st;
    *(int *)arg = stat(path, &st) == 0 && S_ISDIR(st.st_mode) && lists("/proc/self/task", syscall(SYS_gettid))
        && status_field("/proc/thread-self/status", "\nPid:") == syscall(SYS_gettid);
    return NULL;
}

int main(int argc, char **argv) {
    static char text[1 << 16];
    char path[PATH_MAX], link[PATH_MAX], real[PATH_MAX];
    long n;

    // Identity.
    snprintf(path, sizeof path, "%d", getpid());
    n = readlink("/proc/self", link, sizeof link - 1);
    check("/proc/self links to the pid", n > 0 && (link[n] = 0, strcmp(link, path) == 0));
    read_file("/proc/self/stat", text, sizeof text);
    check("stat starts with the pid", atol(text) == getpid());
    char *name_end = strrchr(text, ')');
    check("stat has the parent's pid", name_end && atol(name_end + 4) == getppid());
    check("status Pid", status_field("/proc/self/status", "\nPid:") == getpid());
    check("status PPid", status_field("/proc/self/status", "\nPPid:") == getppid());
    check("status Threads is 1", status_field("/proc/self/status", "\nThreads:") == 1);
    check("/proc lists the pid", lists("/proc", getpid()));
    snprintf(path, sizeof path, "/proc/%d/comm", getpid());
    read_file(path, text, sizeof text);
    const char *base = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0];
    size_t length = strlen(base) < 15 ? strlen(base) : 15;
    check("comm is the program's name", strncmp(text, base, length) == 0 && text[length] == '\n');

    // The executable, with its links resolved.
    n = readlink("/proc/self/exe", link, sizeof link - 1);
    check("exe is the program's real path", n > 0 && realpath(argv[0], real) && (link[n] = 0, strcmp(link, real) == 0));
    struct stat exe, program;
    check("exe opens the program", stat("/proc/self/exe", &exe) == 0 && stat(argv[0], &program) == 0 && exe.st_ino == program.st_ino);

    // Arguments and environment as the process has them.
    n = read_file("/proc/self/cmdline", text, sizeof text);
    long expected = 0;
    for (int i = 0; i < argc; i++)
        expected += strlen(argv[i]) + 1;
    check("cmdline holds argv", n == expected && strcmp(text, argv[0]) == 0 && (argc < 2 || strcmp(text + strlen(argv[0]) + 1, argv[1]) == 0));
    n = read_file("/proc/self/environ", text, sizeof text);
    expected = 0;
    for (char **e = environ; *e; e++)
        expected += strlen(*e) + 1;
    check("environ holds the environment in order", n == expected && (!environ[0] || strcmp(text, environ[0]) == 0));
    unsigned long auxv[128] = {0};
    n = read_file("/proc/self/auxv", (char *)auxv, sizeof auxv);
    int page_size = 0, entry = 0;
    for (int i = 0; i + 1 < n / 8; i += 2) {
        page_size |= auxv[i] == AT_PAGESZ && auxv[i + 1] == 4096;
        entry |= auxv[i] == AT_ENTRY && auxv[i + 1] == getauxval(AT_ENTRY);
    }
    check("auxv has the page size and entry", page_size && entry);

    // Memory.
    read_file("/proc/self/maps", text, sizeof text);
    unsigned long address = (unsigned long)&main;
    int mapped = 0;
    for (char *line = text; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
        unsigned long start, end;
        char perms[5];
        if (sscanf(line, "%lx-%lx %4s", &start, &end, perms) == 3 && start <= address && address < end)
            mapped = perms[2] == 'x' && strstr(line, real) != NULL;
    }
    check("maps shows main in the executable's code", mapped);
    long size = 0, resident = 0;
    read_file("/proc/self/statm", text, sizeof text);
    check("statm has a size and a resident count", sscanf(text, "%ld %ld", &size, &resident) == 2 && size > 0 && resident > 0 && resident <= size);

    // Limits.
    struct rlimit files;
    getrlimit(RLIMIT_NOFILE, &files);
    files.rlim_cur = 200;
    setrlimit(RLIMIT_NOFILE, &files);
    read_file("/proc/self/limits", text, sizeof text);
    char *open_files = strstr(text, "Max open files");
    check("limits shows the lowered open-files limit", open_files && atol(open_files + 26) == 200);
    int high = fcntl(0, F_DUPFD, 199);
    check("a descriptor under the limit", high == 199);
    close(high);
    check("no descriptor at the limit", fcntl(0, F_DUPFD, 200) == -1 && errno == EINVAL);
    check("dup2 past the limit is EBADF", dup2(0, 250) == -1 && errno == EBADF);

    // Descriptors.
    char file[] = "/tmp/rewind-proc-self-XXXXXX";
    int fd = mkstemp(file);
    write(fd, "0123456789", 10);
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    n = readlink(path, link, sizeof link - 1);
    check("fd link names the file", n > 0 && (link[n] = 0, strcmp(link, file) == 0));
    check("fd folder lists it", lists("/proc/self/fd", fd) && lists("/dev/fd", fd));
    snprintf(path, sizeof path, "/dev/fd/%d", fd);
    int again = open(path, O_RDONLY);
    char four[5] = {0};
    check("/dev/fd/N opens the file anew, at its start", again >= 0 && read(again, four, 4) == 4 && strcmp(four, "0123") == 0
        && lseek(fd, 0, SEEK_CUR) == 10);
    snprintf(path, sizeof path, "/proc/self/fdinfo/%d", again);
    read_file(path, text, sizeof text);
    check("fdinfo shows the position", strncmp(text, "pos:\t4\n", 7) == 0);
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    check("chmod through the fd link changes the file", chmod(path, 0640) == 0 && stat(file, &exe) == 0 && (exe.st_mode & 0777) == 0640);
    struct stat by_fd, by_link;
    check("stat of an fd link is the file", fstat(fd, &by_fd) == 0 && stat(path, &by_link) == 0 && by_fd.st_ino == by_link.st_ino);
    check("lstat of an fd link is a link", lstat(path, &by_link) == 0 && S_ISLNK(by_link.st_mode));
    close(again);
    close(fd);
    unlink(file);
    int pipes[2];
    pipe(pipes);
    snprintf(path, sizeof path, "/proc/self/fd/%d", pipes[0]);
    n = readlink(path, link, sizeof link - 1);
    check("a pipe's link is pipe:[inode]", n > 6 && strncmp(link, "pipe:[", 6) == 0);
    dup2(pipes[0], 0);
    write(pipes[1], "through stdin\n", 14);
    int in = open("/dev/stdin", O_RDONLY);
    char line[32] = {0};
    check("/dev/stdin is descriptor 0", in >= 0 && read(in, line, sizeof line - 1) == 14 && strcmp(line, "through stdin\n") == 0);
    n = readlink("/proc/self/cwd", link, sizeof link - 1);
    check("cwd is the working directory", n > 0 && getcwd(real, sizeof real) && (link[n] = 0, strcmp(link, real) == 0));

    // Threads.
    pthread_t thread;
    int thread_ok = 0;
    pthread_create(&thread, NULL, thread_main, &thread_ok);
    pthread_join(thread, NULL);
    check("a thread has its task folder and thread-self", thread_ok);

    // A child: its own /proc entries, seen from the parent.
    int ready[2];
    pipe(ready);
    pid_t child = fork();
    if (child == 0) {
        char c;
        close(ready[1]);
        read(ready[0], &c, 1); // until the parent has looked
        _exit(0);
    }
    close(ready[0]);
    snprintf(path, sizeof path, "/proc/%d/status", child);
    check("the child's status names its parent", status_field(path, "\nPPid:") == getpid());
    check("/proc lists the child", lists("/proc", child));
    write(ready[1], "x", 1);
    waitpid(child, NULL, 0);
    snprintf(path, sizeof path, "/proc/%d", child);
    struct stat gone;
    check("a reaped child has no /proc entry", stat(path, &gone) == -1 && errno == ENOENT);
    return 0;
}
