/* splice_probe.c — would a GET save CPU by handing its plaintext pieces to the socket without the
 * kernel's write copy? The sending thread's CPU per GiB over loopback TCP (a reader thread on the
 * other core drains it), for 1 MiB pieces that are first written in full (as the decryption writes
 * each plaintext byte), then sent:
 *
 *   write    one reused buffer, write(): what kasumid does (the kernel copies into socket buffers)
 *   gift     fresh anonymous pages per piece, vmsplice(SPLICE_F_GIFT) into a pipe, splice to the
 *            socket, munmap at once: safe without any completion, since the pages are never
 *            written again (the pipe and the socket hold the only references)
 *   gift-pop the same with MAP_POPULATE (no page faults one by one)
 *   reuse    one reused buffer vmspliced again and again: NOT safe (the kernel may still send the
 *            previous piece's pages when they are overwritten; only MSG_ZEROCOPY completions could
 *            say when they are free, and loopback copies those anyway); the upper bound of what
 *            any safe reuse rule could gain
 *
 *   cc -O2 -o /tmp/splice_probe bench/splice_probe.c -lpthread && /tmp/splice_probe [GiB per mode]
 * The sender's CPU includes the loopback receive path, which runs on the sending core (as it does
 * for kasumid serving wrk on 127.0.0.1). Results: docs/PERFORMANCE.md. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#define PIECE (1 << 20)

enum mode { M_WRITE, M_GIFT, M_GIFT_POP, M_REUSE, M_N };
static const char *names[M_N] = {"write", "gift", "gift-pop", "reuse"};

static void die(const char *what)
{
    perror(what);
    exit(1);
}

static void pin(int cpu)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu % (int)sysconf(_SC_NPROCESSORS_ONLN), &set);
    pthread_setaffinity_np(pthread_self(), sizeof set, &set);
}

static double thread_cpu_s(void)
{
    struct rusage r;
    getrusage(RUSAGE_THREAD, &r);
    return (double)(r.ru_utime.tv_sec + r.ru_stime.tv_sec) +
           (double)(r.ru_utime.tv_usec + r.ru_stime.tv_usec) / 1e6;
}

static void *drain(void *arg)
{
    int ls = *(int *)arg;
    pin(1);
    int c = accept(ls, NULL, NULL);
    char *b = malloc(1 << 18);
    ssize_t n;
    while ((n = read(c, b, 1 << 18)) > 0)
        ;
    free(b);
    close(c);
    return NULL;
}

static void write_all(int s, const char *p, size_t n)
{
    while (n) {
        ssize_t k = write(s, p, n);
        if (k <= 0)
            die("write");
        p += k;
        n -= (size_t)k;
    }
}

/* vmsplice as much as the pipe takes, splice that to the socket, until the piece is out */
static void splice_piece(int pw, int pr, int s, char *p, unsigned flags)
{
    for (size_t off = 0; off < PIECE;) {
        struct iovec v = {p + off, PIECE - off};
        ssize_t n = vmsplice(pw, &v, 1, flags);
        if (n <= 0)
            die("vmsplice");
        off += (size_t)n;
        while (n > 0) {
            ssize_t k = splice(pr, NULL, s, NULL, (size_t)n, SPLICE_F_MOVE | SPLICE_F_MORE);
            if (k <= 0)
                die("splice");
            n -= k;
        }
    }
}

static void send_piece(enum mode m, int s, int pipe_fd[2], char *buf, int fill)
{
    if (m == M_WRITE || m == M_REUSE) {
        memset(buf, fill, PIECE);   /* stands for the decryption writing the plaintext */
        if (m == M_WRITE)
            write_all(s, buf, PIECE);
        else
            splice_piece(pipe_fd[1], pipe_fd[0], s, buf, 0);
        return;
    }
    char *p = mmap(NULL, PIECE, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | (m == M_GIFT_POP ? MAP_POPULATE : 0), -1, 0);
    if (p == MAP_FAILED)
        die("mmap");
    memset(p, fill, PIECE);
    splice_piece(pipe_fd[1], pipe_fd[0], s, p, SPLICE_F_GIFT);
    munmap(p, PIECE);   /* never written again: the pipe and the socket own the pages now */
}

static void run(enum mode m, long gib)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t alen = sizeof a;
    int ls = socket(AF_INET, SOCK_STREAM, 0);
    if (ls < 0 || bind(ls, (void *)&a, sizeof a) || listen(ls, 1) ||
        getsockname(ls, (void *)&a, &alen))
        die("listen");
    pthread_t th;
    pthread_create(&th, NULL, drain, &ls);
    int s = socket(AF_INET, SOCK_STREAM, 0), pipe_fd[2];
    if (s < 0 || connect(s, (void *)&a, sizeof a) || pipe(pipe_fd))
        die("connect");
    fcntl(pipe_fd[1], F_SETPIPE_SZ, PIECE);
    char *buf = aligned_alloc(4096, PIECE);
    memset(buf, 0, PIECE);
    struct timespec w0, w1;
    double c0 = thread_cpu_s();
    clock_gettime(CLOCK_MONOTONIC, &w0);
    for (long i = 0; i < gib * 1024; i++)
        send_piece(m, s, pipe_fd, buf, (int)i);
    shutdown(s, SHUT_WR);
    double cpu = thread_cpu_s() - c0;
    clock_gettime(CLOCK_MONOTONIC, &w1);
    pthread_join(th, NULL);
    double wall = (double)(w1.tv_sec - w0.tv_sec) + (double)(w1.tv_nsec - w0.tv_nsec) / 1e9;
    printf("%-9s sender CPU %.3f s/GiB  (%.0f MiB/s wall)\n", names[m], cpu / (double)gib,
           (double)(gib * 1024) / wall);
    free(buf);
    close(s);
    close(ls);
    close(pipe_fd[0]);
    close(pipe_fd[1]);
}

int main(int argc, char **argv)
{
    long gib = argc > 1 ? atol(argv[1]) : 4;
    pin(0);
    for (int round = 0; round < 3; round++)
        for (enum mode m = 0; m < M_N; m++)
            run(m, gib);
    return 0;
}
