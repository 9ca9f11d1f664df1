/*
 * berth-spawner: runs short commands for berthd.
 *
 * Node forks the whole daemon for every child process (libuv's uv_spawn uses fork()), and
 * fork copies the page tables: the cost grows with berthd's memory, so with the number of
 * containers (~11 ms per spawn at 250 containers on a small VM). berthd starts this small
 * process once, while it is itself small, and asks it to run the commands of the container
 * start path (ip, unshare, umount, berth-shim); forking this process costs a fraction of a
 * millisecond whatever berthd's size.
 *
 * Protocol on stdin/stdout, little-endian, one frame per request and per reply:
 *   request: u32 length, u32 id, u32 argc, u32 timeout_ms, argc NUL-terminated strings,
 *            u32 inlen, input
 *   reply:   u32 length, u32 id, i32 status, u32 outlen, stdout, u32 errlen, stderr
 * status is the exit code, or -signal, or -1000 - errno when the command could not be run.
 * A command with a timeout runs in a process group of its own, killed (SIGKILL, status -9)
 * once the timeout passes: a runtime stuck on a cgroup must not hold berthd's request forever,
 * and an alarm would not do (a Go program such as runc catches SIGALRM and carries on).
 * Each command gets the input on its stdin; stdout and stderr are collected (up to 64 MiB each)
 * until both are closed and the process has exited. Requests run concurrently. The spawner
 * exits when its stdin closes; commands already running are left to finish.
 *
 * `--seal PATH` (repeatable, OCI runtimes): the i-th is copied once into a sealed memfd
 * (sealed.h) held at fd SEAL_FD + i for the spawner's life. berth-shim opens it as
 * /proc/<spawner>/fd/<SEAL_FD + i> and keeps it, so every shim runs the runtime from one shared
 * copy; it outlives the spawner in the shims that hold it. A copy that cannot be made is simply
 * absent (the shim then makes its own).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "sealed.h"

#define MAX_JOBS 256
#define MAX_OUT (64 << 20)
#define MAX_REQ (1 << 20)
#define SEAL_FD 100

struct buf {
    char *p;
    size_t len, cap;
};

struct job {
    int used;
    uint32_t id;
    pid_t pid;
    int out_fd, err_fd, in_fd;
    int exited;
    int32_t status;
    /* CLOCK_MONOTONIC ms after which the command's group is killed; 0: none. */
    long long deadline;
    int killed;
    struct buf out, err, in;
    size_t in_off;
};

static struct job jobs[MAX_JOBS];
static int sig_pipe[2];

static void die(const char *what) {
    fprintf(stderr, "berth-spawner: %s: %s\n", what, strerror(errno));
    exit(1);
}

static void buf_add(struct buf *b, const char *p, size_t n, size_t max) {
    if (b->len + n > max) n = b->len < max ? max - b->len : 0;
    if (!n) return;
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + n) cap *= 2;
        char *q = realloc(b->p, cap);
        if (!q) die("realloc");
        b->p = q;
        b->cap = cap;
    }
    memcpy(b->p + b->len, p, n);
    b->len += n;
}

static void on_chld(int sig) {
    (void)sig;
    int e = errno;
    char c = 0;
    if (write(sig_pipe[1], &c, 1) < 0) { /* full: a wakeup is already pending */ }
    errno = e;
}

static void write_all(int fd, const char *p, size_t n) {
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR) continue;
            exit(0); /* berthd went away */
        }
        p += w;
        n -= (size_t)w;
    }
}

static void put32(struct buf *b, uint32_t v) {
    char c[4] = { (char)(v & 0xff), (char)((v >> 8) & 0xff), (char)((v >> 16) & 0xff), (char)((v >> 24) & 0xff) };
    buf_add(b, c, 4, SIZE_MAX);
}

static uint32_t get32(const unsigned char *p) {
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

static void reply(uint32_t id, int32_t status, const struct buf *out, const struct buf *err) {
    struct buf r = { 0 };
    put32(&r, 0);
    put32(&r, id);
    put32(&r, (uint32_t)status);
    put32(&r, (uint32_t)out->len);
    buf_add(&r, out->p ? out->p : "", out->len, SIZE_MAX);
    put32(&r, (uint32_t)err->len);
    buf_add(&r, err->p ? err->p : "", err->len, SIZE_MAX);
    uint32_t len = (uint32_t)(r.len - 4);
    r.p[0] = (char)(len & 0xff);
    r.p[1] = (char)((len >> 8) & 0xff);
    r.p[2] = (char)((len >> 16) & 0xff);
    r.p[3] = (char)((len >> 24) & 0xff);
    write_all(1, r.p, r.len);
    free(r.p);
}

static void finish_if_done(struct job *j) {
    if (!j->used || !j->exited || j->out_fd >= 0 || j->err_fd >= 0) return;
    if (j->in_fd >= 0) close(j->in_fd);
    reply(j->id, j->status, &j->out, &j->err);
    free(j->out.p);
    free(j->err.p);
    free(j->in.p);
    memset(j, 0, sizeof *j);
}

static long long now_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static void fail_request(uint32_t id, int err) {
    struct buf none = { 0 };
    reply(id, -1000 - err, &none, &none);
}

/* Starts one request: argv and input parsed from `p`, `n` bytes. */
static void start(const unsigned char *p, size_t n) {
    if (n < 12) return;
    uint32_t id = get32(p), argc = get32(p + 4), timeout_ms = get32(p + 8);
    size_t off = 12;
    if (argc == 0 || argc > 4096) {
        fail_request(id, EINVAL);
        return;
    }
    char **argv = calloc(argc + 1, sizeof *argv);
    if (!argv) die("calloc");
    for (uint32_t i = 0; i < argc; i++) {
        const unsigned char *end = memchr(p + off, 0, n - off);
        if (!end) {
            free(argv);
            fail_request(id, EINVAL);
            return;
        }
        argv[i] = (char *)(p + off);
        off = (size_t)(end - p) + 1;
    }
    if (n - off < 4 || n - off - 4 < get32(p + off)) {
        free(argv);
        fail_request(id, EINVAL);
        return;
    }
    uint32_t inlen = get32(p + off);
    off += 4;
    struct job *j = NULL;
    for (int i = 0; i < MAX_JOBS; i++)
        if (!jobs[i].used) {
            j = &jobs[i];
            break;
        }
    int in[2] = { -1, -1 }, out[2] = { -1, -1 }, err[2] = { -1, -1 };
    if (!j || pipe2(in, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0 || pipe2(err, O_CLOEXEC) < 0) {
        int e = j ? errno : EAGAIN;
        for (int k = 0; k < 2; k++) {
            if (in[k] >= 0) close(in[k]);
            if (out[k] >= 0) close(out[k]);
            if (err[k] >= 0) close(err[k]);
        }
        free(argv);
        fail_request(id, e);
        return;
    }
    /* The exec error, if any, comes back on a close-on-exec pipe. */
    int ex[2];
    if (pipe2(ex, O_CLOEXEC) < 0) die("pipe2");
    pid_t pid = fork();
    if (pid < 0) die("fork");
    if (pid == 0) {
        sigset_t none;
        sigemptyset(&none);
        signal(SIGCHLD, SIG_DFL);
        signal(SIGPIPE, SIG_DFL);
        sigprocmask(SIG_SETMASK, &none, NULL);
        if (timeout_ms) setpgid(0, 0);
        dup2(in[0], 0);
        dup2(out[1], 1);
        dup2(err[1], 2);
        execvp(argv[0], argv);
        int e = errno;
        if (write(ex[1], &e, sizeof e) < 0) { /* nothing more to do */ }
        _exit(127);
    }
    free(argv);
    /* Also here: the group must exist before a kill could be aimed at it. */
    if (timeout_ms) setpgid(pid, pid);
    close(ex[1]);
    close(in[0]);
    close(out[1]);
    close(err[1]);
    int e = 0;
    ssize_t r;
    while ((r = read(ex[0], &e, sizeof e)) < 0 && errno == EINTR) {}
    close(ex[0]);
    if (r == (ssize_t)sizeof e) {
        /* Could not exec: reaped when SIGCHLD comes, answered now. */
        close(in[1]);
        close(out[0]);
        close(err[0]);
        fail_request(id, e);
        return;
    }
    memset(j, 0, sizeof *j);
    j->used = 1;
    j->id = id;
    j->pid = pid;
    j->deadline = timeout_ms ? now_ms() + timeout_ms : 0;
    j->out_fd = out[0];
    j->err_fd = err[0];
    j->in_fd = in[1];
    fcntl(in[1], F_SETFL, O_NONBLOCK);
    /* A slot reused within one poll round must never block on a read. */
    fcntl(out[0], F_SETFL, O_NONBLOCK);
    fcntl(err[0], F_SETFL, O_NONBLOCK);
    buf_add(&j->in, (const char *)p + off, inlen, SIZE_MAX);
    if (!inlen) {
        close(j->in_fd);
        j->in_fd = -1;
    }
}

static struct job *by_pid(pid_t pid) {
    for (int i = 0; i < MAX_JOBS; i++)
        if (jobs[i].used && jobs[i].pid == pid) return &jobs[i];
    return NULL;
}

static void reap(void) {
    char drain[64];
    while (read(sig_pipe[0], drain, sizeof drain) > 0) {}
    for (;;) {
        int st;
        pid_t pid = waitpid(-1, &st, WNOHANG);
        if (pid <= 0) break;
        struct job *j = by_pid(pid);
        if (!j) continue;
        j->exited = 1;
        j->status = WIFEXITED(st) ? WEXITSTATUS(st) : -WTERMSIG(st);
        finish_if_done(j);
    }
}

int main(int argc, char **argv) {
    for (int i = 1, n = 0; i < argc; i++) {
        if (strcmp(argv[i], "--seal") != 0 || i + 1 == argc) {
            fprintf(stderr, "usage: berth-spawner [--seal PATH]...\n");
            return 2;
        }
        int fd = sealed_copy(argv[++i]);
        if (fd >= 0 && fd != SEAL_FD + n) {
            if (dup3(fd, SEAL_FD + n, O_CLOEXEC) < 0)
                die("dup3");
            close(fd);
        }
        n++;
    }
    signal(SIGPIPE, SIG_IGN);
    if (pipe2(sig_pipe, O_CLOEXEC | O_NONBLOCK) < 0) die("pipe2");
    struct sigaction sa = { 0 };
    sa.sa_handler = on_chld;
    sa.sa_flags = SA_RESTART | SA_NOCLDSTOP;
    sigaction(SIGCHLD, &sa, NULL);
    fcntl(0, F_SETFD, FD_CLOEXEC);
    fcntl(1, F_SETFD, FD_CLOEXEC);

    struct buf req = { 0 };
    int stdin_open = 1;
    struct pollfd fds[2 + 3 * MAX_JOBS];
    struct job *owner[2 + 3 * MAX_JOBS];
    int kind[2 + 3 * MAX_JOBS];
    for (;;) {
        int n = 0;
        fds[n] = (struct pollfd){ .fd = sig_pipe[0], .events = POLLIN };
        kind[n++] = 0;
        if (stdin_open) {
            fds[n] = (struct pollfd){ .fd = 0, .events = POLLIN };
            kind[n++] = 1;
        }
        int busy = 0;
        for (int i = 0; i < MAX_JOBS; i++) {
            struct job *j = &jobs[i];
            if (!j->used) continue;
            busy = 1;
            if (j->out_fd >= 0) {
                fds[n] = (struct pollfd){ .fd = j->out_fd, .events = POLLIN };
                owner[n] = j;
                kind[n++] = 2;
            }
            if (j->err_fd >= 0) {
                fds[n] = (struct pollfd){ .fd = j->err_fd, .events = POLLIN };
                owner[n] = j;
                kind[n++] = 3;
            }
            if (j->in_fd >= 0) {
                fds[n] = (struct pollfd){ .fd = j->in_fd, .events = POLLOUT };
                owner[n] = j;
                kind[n++] = 4;
            }
        }
        if (!stdin_open && !busy) return 0;
        /* Commands past their timeout are killed; poll wakes for the next one due. */
        int wait = -1;
        long long now = now_ms();
        for (int i = 0; i < MAX_JOBS; i++) {
            struct job *j = &jobs[i];
            if (!j->used || j->exited || !j->deadline || j->killed) continue;
            if (j->deadline <= now) {
                kill(-j->pid, SIGKILL);
                j->killed = 1;
            } else if (wait < 0 || j->deadline - now < wait) {
                wait = (int)(j->deadline - now);
            }
        }
        if (poll(fds, (nfds_t)n, wait) < 0) {
            if (errno == EINTR) continue;
            die("poll");
        }
        for (int i = 0; i < n; i++) {
            if (!fds[i].revents) continue;
            char tmp[65536];
            if (kind[i] == 0) {
                reap();
            } else if (kind[i] == 1) {
                ssize_t r = read(0, tmp, sizeof tmp);
                if (r < 0 && errno == EINTR) continue;
                if (r <= 0) {
                    stdin_open = 0;
                    continue;
                }
                buf_add(&req, tmp, (size_t)r, MAX_REQ + 4);
                while (req.len >= 4) {
                    uint32_t len = get32((unsigned char *)req.p);
                    if (len > MAX_REQ) {
                        fprintf(stderr, "berth-spawner: request of %u bytes refused\n", len);
                        exit(1);
                    }
                    if (req.len < 4 + (size_t)len) break;
                    start((unsigned char *)req.p + 4, len);
                    memmove(req.p, req.p + 4 + len, req.len - 4 - len);
                    req.len -= 4 + len;
                }
            } else if (kind[i] == 4) {
                struct job *j = owner[i];
                if (!j->used || j->in_fd < 0) continue;
                ssize_t w = write(j->in_fd, j->in.p + j->in_off, j->in.len - j->in_off);
                if (w > 0) j->in_off += (size_t)w;
                if ((w < 0 && errno != EAGAIN && errno != EINTR) || j->in_off >= j->in.len) {
                    /* Done, or the command closed its stdin early: its status tells. */
                    close(j->in_fd);
                    j->in_fd = -1;
                }
            } else {
                struct job *j = owner[i];
                int *fd = kind[i] == 2 ? &j->out_fd : &j->err_fd;
                if (!j->used || *fd < 0) continue;
                ssize_t r = read(*fd, tmp, sizeof tmp);
                if (r < 0 && (errno == EINTR || errno == EAGAIN)) continue;
                if (r > 0) {
                    buf_add(kind[i] == 2 ? &j->out : &j->err, tmp, (size_t)r, MAX_OUT);
                } else {
                    close(*fd);
                    *fd = -1;
                    finish_if_done(j);
                }
            }
        }
    }
}
