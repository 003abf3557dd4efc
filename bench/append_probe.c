/* append_probe.c — what a durable append costs the kernel, per 4 KiB page, for the ways an
 * append-only log could lay out its file (the audit writer appends a batch and fdatasyncs it
 * every few ms: docs/PERFORMANCE.md, eleventh session). The calling thread's system time
 * (RUSAGE_THREAD) over 300 batches of 200 KiB, each written with one write() and made durable
 * with fdatasync(), like an audit batch at ~40,000 requests/s:
 *
 *   grow       appends to a new file: each batch allocates blocks (delayed allocation, then the
 *              writeback's allocation) and moves i_size, which fdatasync must also write
 *   prealloc   the same after fallocate(FALLOC_FL_KEEP_SIZE) of the whole length: blocks reserved
 *              beyond the end, unwritten; i_size still moves and the extents are converted
 *   overwrite  the file written in full and synced first, then written again from the start: no
 *              allocation and no size change (what a log with zero-filled segments would do;
 *              the zero-filling itself, as costly as the writes, is not counted)
 *
 *   cc -O2 -o /tmp/append_probe bench/append_probe.c && taskset -c 0 /tmp/append_probe DIR
 * DIR must be on the file system under test (the data directory's); the file is removed after. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#define BATCH (200 * 1024)
#define BATCHES 300

static double sys_us(void)
{
    struct rusage u;
    getrusage(RUSAGE_THREAD, &u);
    return (double)u.ru_stime.tv_sec * 1e6 + (double)u.ru_stime.tv_usec;
}

static int write_batches(int fd, const char *buf)
{
    for (int i = 0; i < BATCHES; i++)
        if (write(fd, buf, BATCH) != BATCH || fdatasync(fd)) {
            perror("write/fdatasync");
            return -1;
        }
    return 0;
}

static int run(const char *mode, const char *path, const char *buf)
{
    unlink(path);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0) {
        perror(path);
        return -1;
    }
    off_t total = (off_t)BATCH * BATCHES;
    if (!strcmp(mode, "prealloc") && fallocate(fd, FALLOC_FL_KEEP_SIZE, 0, total)) {
        perror("fallocate");
        return -1;
    }
    if (!strcmp(mode, "overwrite") && (write_batches(fd, buf) || lseek(fd, 0, SEEK_SET) != 0))
        return -1;
    double t0 = sys_us();
    int rc = write_batches(fd, buf);
    double t1 = sys_us();
    close(fd);
    unlink(path);
    if (!rc)
        printf("%-10s %6.2f us of system time per 4 KiB page\n", mode, (t1 - t0) / ((double)total / 4096));
    return rc;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: append_probe DIR\n");
        return 2;
    }
    char path[4096];
    snprintf(path, sizeof path, "%s/append_probe.tmp", argv[1]);
    char *buf = malloc(BATCH);
    memset(buf, 'x', BATCH);
    static const char *const modes[] = {"grow", "prealloc", "overwrite"};
    for (int round = 0; round < 3; round++)
        for (size_t m = 0; m < sizeof modes / sizeof modes[0]; m++)
            if (run(modes[m], path, buf))
                return 1;
    free(buf);
    return 0;
}
