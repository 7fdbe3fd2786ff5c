// Kernel interfaces that real programs use, each printed with its result and errno: FIFOs made with mknod and
// opened from two processes (each open waits for the other end), extended attributes, I/O and CPU scheduling
// priorities, memory policies, supplementary groups, file times, eventfd. The output is the same natively and
// under emulation.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>
#include <utime.h>

static void show(const char *what, long result) {
    if (result < 0)
        printf("%s: -1 %s\n", what, strerrorname_np(errno));
    else
        printf("%s: %ld\n", what, result);
}

int main(void) {
    char folder[] = "/tmp/rewind-kernel-calls-XXXXXX";
    if (!mkdtemp(folder))
        return 1;
    char fifo[64], file[64];
    snprintf(fifo, sizeof fifo, "%s/fifo", folder);
    snprintf(file, sizeof file, "%s/file", folder);

    // A FIFO: the reader opens first and waits for the writer, another process.
    show("mknod fifo", mknod(fifo, S_IFIFO | 0600, 0));
    struct stat st;
    stat(fifo, &st);
    printf("is a fifo: %d, mode %o\n", S_ISFIFO(st.st_mode), st.st_mode & 0777);
    show("mknod existing", mknod(fifo, S_IFIFO | 0600, 0));
    show("mknod directory", mknod(file, S_IFDIR | 0700, 0));
    show("mknod unknown type", mknod(file, 0170000 | 0700, 0));
    show("nonblocking write open without a reader", open(fifo, O_WRONLY | O_NONBLOCK));
    fflush(stdout);
    pid_t writer = fork();
    if (writer == 0) {
        int fd = open(fifo, O_WRONLY);
        write(fd, "through the fifo\n", 17);
        _exit(fd < 0);
    }
    int reader = open(fifo, O_RDONLY);
    char buffer[64] = {0};
    long n = read(reader, buffer, sizeof buffer - 1);
    printf("read %ld: %s", n, buffer);
    printf("then end of file: %ld\n", (long)read(reader, buffer, sizeof buffer));
    int status;
    waitpid(writer, &status, 0);
    printf("writer exited %d\n", WEXITSTATUS(status));
    close(reader);
    // The other way round: the writer waits for a reader.
    fflush(stdout);
    pid_t reading = fork();
    if (reading == 0) {
        usleep(1000);
        int fd = open(fifo, O_RDONLY);
        char text[32] = {0};
        read(fd, text, sizeof text - 1);
        printf("child read: %s", text);
        fflush(stdout);
        _exit(0);
    }
    int out = open(fifo, O_WRONLY);
    write(out, "second\n", 7);
    close(out);
    waitpid(reading, NULL, 0);
    show("mknod regular", mknod(file, S_IFREG | 0640, 0));
    char device[64];
    snprintf(device, sizeof device, "%s/null", folder);
    show("mknod character device", mknod(device, S_IFCHR | 0600, makedev(1, 3)));
    unlink(device);

    // Extended attributes.
    show("setxattr", setxattr(file, "user.colour", "blue", 4, 0));
    show("setxattr create existing", setxattr(file, "user.colour", "red", 3, XATTR_CREATE));
    show("setxattr replace missing", setxattr(file, "user.size", "1", 1, XATTR_REPLACE));
    int fd = open(file, O_RDWR);
    show("fsetxattr", fsetxattr(fd, "user.size", "large", 5, 0));
    char value[32] = {0};
    show("getxattr", getxattr(file, "user.colour", value, sizeof value));
    printf("value: %s\n", value);
    show("listxattr size", listxattr(file, NULL, 0));
    show("removexattr", removexattr(file, "user.colour"));
    show("removexattr again", removexattr(file, "user.colour"));
    show("fremovexattr", fremovexattr(fd, "user.size"));
    show("lsetxattr on a file", lsetxattr(file, "user.l", "x", 1, 0));
    show("lremovexattr", lremovexattr(file, "user.l"));
    close(fd);

    // File times.
    struct timeval times[2] = {{1000000000, 250000}, {1200000000, 500000}};
    show("utimes", utimes(file, times));
    stat(file, &st);
    printf("atime %ld.%09ld mtime %ld.%09ld\n", (long)st.st_atim.tv_sec, st.st_atim.tv_nsec, (long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
    struct utimbuf whole = {1300000000, 1400000000};
    show("utime", utime(file, &whole));
    stat(file, &st);
    printf("atime %ld mtime %ld\n", (long)st.st_atime, (long)st.st_mtime);
    struct timeval bad[2] = {{0, 1000000}, {0, 0}};
    show("utimes with a bad time", utimes(file, bad));

    // Scheduling.
    show("ioprio_get", syscall(SYS_ioprio_get, 1, 0));
    show("ioprio_set best effort 3", syscall(SYS_ioprio_set, 1, 0, 2 << 13 | 3));
    show("ioprio_get after", syscall(SYS_ioprio_get, 1, 0));
    show("ioprio_set level with a hint", syscall(SYS_ioprio_set, 1, 0, 2 << 13 | 9));
    show("ioprio_set none with a level", syscall(SYS_ioprio_set, 1, 0, 1));
    show("ioprio_get bad which", syscall(SYS_ioprio_get, 9, 0));
    show("sched_get_priority_max FIFO", sched_get_priority_max(SCHED_FIFO));
    show("sched_get_priority_min RR", sched_get_priority_min(SCHED_RR));
    show("sched_get_priority_max OTHER", sched_get_priority_max(SCHED_OTHER));
    show("sched_get_priority_max bad", sched_get_priority_max(42));
    struct sched_param param = {0};
    show("sched_setscheduler BATCH", sched_setscheduler(0, SCHED_BATCH, &param));
    show("sched_getscheduler", sched_getscheduler(0));
    param.sched_priority = 5;
    show("sched_setscheduler OTHER priority 5", sched_setscheduler(0, SCHED_OTHER, &param));
    param.sched_priority = 0;
    show("sched_setscheduler back to OTHER", sched_setscheduler(0, SCHED_OTHER, &param));

    // Memory policy: one node.
    int mode = -1;
    unsigned long nodes[2] = {~0UL, ~0UL};
    show("get_mempolicy", syscall(SYS_get_mempolicy, &mode, nodes, 128, 0, 0));
    printf("mode %d nodes %lx\n", mode, nodes[0]);
    show("get_mempolicy allowed", syscall(SYS_get_mempolicy, NULL, nodes, 128, 0, 4));
    printf("allowed %lx\n", nodes[0]);
    unsigned long node0 = 1;
    show("set_mempolicy bind node 0", syscall(SYS_set_mempolicy, 2, &node0, 64));
    show("set_mempolicy default", syscall(SYS_set_mempolicy, 0, NULL, 0));
    show("set_mempolicy bad mode", syscall(SYS_set_mempolicy, 77, NULL, 0));

    // Groups.
    int groups = getgroups(0, NULL);
    gid_t list[2] = {0, 4};
    show("setgroups", setgroups(2, list));
    printf("groups before %d, after %d\n", groups, getgroups(0, NULL) > 0);

    // eventfd, old and new.
    int event = syscall(SYS_eventfd, 3);
    unsigned long long count = 0;
    show("eventfd read", read(event, &count, 8));
    printf("count %llu\n", count);
    show("eventfd semaphore", eventfd(2, EFD_SEMAPHORE | EFD_NONBLOCK));

    unlink(fifo);
    unlink(file);
    rmdir(folder);
    return 0;
}
