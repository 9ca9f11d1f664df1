/*
 * berth-shim: the per-container (and per-exec) monitor started by berthd.
 *
 * One shim supervises one process: it runs the OCI runtime (crun/runc),
 * becomes the subreaper of the container, owns its stdio (pipes or pty),
 * writes the json-file log, serves a small line protocol on a unix socket
 * and records the exit status in exit.json.  It outlives berthd, so a
 * restarted daemon can reconnect.  See README.md for the contract.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <malloc.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/statvfs.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/random.h>
#include <sys/wait.h>
#include <termios.h>
#include <zlib.h>

#include "sealed.h"

#define REQ_MAX 256               /* longest request line */
#define LOG_LINE_MAX (16 * 1024)  /* partial lines are cut here */
#define Q_HIGH (4u << 20)         /* pause output when a client queue exceeds this */
#define Q_LOW (1u << 20)          /* ...and resume below this */
#define DRAIN_MS 2000             /* cap on draining output after exit */
#define CLOSE_MS 2000             /* cap on flushing client queues before exiting */
#define REPORT_FD 3               /* the ready-report pipe in the monitor process */

/* ------------------------------------------------------------------ options */

static struct {
	char *id, *bundle, *runtime, *rroot, *sdir, *log_path, *max_size, *max_file, *log_attrs;
	char *syslog_addr, *syslog_format, *syslog_facility, *syslog_head;
	char *journald_fields;
	char *fl_addr, *fl_head, *fl_fields, *fl_nfields, *fl_keys, *fl_buffer_limit, *fl_retry_wait, *fl_max_retries, *fl_reconnect, *fl_wtimeout, *fl_rtimeout;
	int fl_async, fl_subsec, fl_ack;
	char *gelf_addr, *gelf_compression, *gelf_level, *gelf_max_reconnect, *gelf_delay, *gelf_head, *gelf_tail;
	char *exec_proc, *ov_target, *ov_data, *ov_cwd, *oom_file, *ro_paths, *shm_path, *shm_size, *oom_adj;
	char *runtime_exe;
	char *dns_netns;
	int tty, stdin_, stdin_once, log_compress;
	long long log_max_size;
	int log_max_file;
} o;

static const struct opt {
	const char *name;
	char **str;
	int *flag;
} opts[] = {
	{"id", &o.id, NULL},
	{"bundle", &o.bundle, NULL},
	{"runtime", &o.runtime, NULL},
	{"runtime-root", &o.rroot, NULL},
	{"state-dir", &o.sdir, NULL},
	{"runtime-exe", &o.runtime_exe, NULL},
	{"log-path", &o.log_path, NULL},
	{"log-max-size", &o.max_size, NULL},
	{"log-max-file", &o.max_file, NULL},
	{"log-attrs", &o.log_attrs, NULL},
	{"syslog-address", &o.syslog_addr, NULL},
	{"syslog-format", &o.syslog_format, NULL},
	{"syslog-facility", &o.syslog_facility, NULL},
	{"syslog-head", &o.syslog_head, NULL},
	{"journald-fields", &o.journald_fields, NULL},
	{"fluentd-address", &o.fl_addr, NULL},
	{"fluentd-head", &o.fl_head, NULL},
	{"fluentd-fields", &o.fl_fields, NULL},
	{"fluentd-nfields", &o.fl_nfields, NULL},
	{"fluentd-keys", &o.fl_keys, NULL},
	{"fluentd-buffer-limit", &o.fl_buffer_limit, NULL},
	{"fluentd-retry-wait", &o.fl_retry_wait, NULL},
	{"fluentd-max-retries", &o.fl_max_retries, NULL},
	{"fluentd-reconnect-interval", &o.fl_reconnect, NULL},
	{"fluentd-write-timeout", &o.fl_wtimeout, NULL},
	{"fluentd-read-timeout", &o.fl_rtimeout, NULL},
	{"fluentd-async", NULL, &o.fl_async},
	{"fluentd-sub-second", NULL, &o.fl_subsec},
	{"fluentd-request-ack", NULL, &o.fl_ack},
	{"gelf-address", &o.gelf_addr, NULL},
	{"gelf-compression", &o.gelf_compression, NULL},
	{"gelf-level", &o.gelf_level, NULL},
	{"gelf-max-reconnect", &o.gelf_max_reconnect, NULL},
	{"gelf-reconnect-delay", &o.gelf_delay, NULL},
	{"gelf-head", &o.gelf_head, NULL},
	{"gelf-tail", &o.gelf_tail, NULL},
	{"exec-process", &o.exec_proc, NULL},
	{"overlay-target", &o.ov_target, NULL},
	{"overlay-data", &o.ov_data, NULL},
	{"overlay-cwd", &o.ov_cwd, NULL},
	{"oom-file", &o.oom_file, NULL},
	{"ro-paths", &o.ro_paths, NULL},
	{"shm-path", &o.shm_path, NULL},
	{"shm-size", &o.shm_size, NULL},
	{"oom-score-adj", &o.oom_adj, NULL},
	{"dns-netns", &o.dns_netns, NULL},
	{"log-compress", NULL, &o.log_compress},
	{"tty", NULL, &o.tty},
	{"stdin", NULL, &o.stdin_},
	{"stdin-once", NULL, &o.stdin_once},
};

/* -------------------------------------------------------------------- state */

static char p_sock[PATH_MAX], p_console[PATH_MAX], p_pidf[PATH_MAX], p_rlog[PATH_MAX];
static char p_exit[PATH_MAX], p_exit_tmp[PATH_MAX];

static int lfd = -1;          /* attach.sock listener */
static int sfd = -1;          /* signalfd for SIGCHLD */
static int devnull = -1;
static int out_fd = -1, err_fd = -1; /* container output (pipes, or a dup of the pty master) */
static int in_fd = -1;        /* container stdin (pipe, or a dup of the pty master) */
static int pty = -1;          /* pty master, kept for resize */
static int stdin_eof;         /* close in_fd once inq is flushed; ignore further input */
static int mounted, shm_mounted, started, exited, finalized, paused, exit_code, oom_killed;
static void unmount_all(void);
static pid_t cpid;            /* the supervised process */
static struct timespec exited_at;
static int64_t drain_until, close_until;
static char exit_json[160];
static char rbuf[65536];      /* read buffer (output and client input) */

struct buf {
	char *d;
	size_t off, len, cap; /* queued bytes are d[off..len) */
};
static struct buf inq;        /* pending container stdin */

enum { C_REQ, C_ATTACH, C_WAIT, C_DNS };
struct conn {
	int fd, kind, dead, in_open, w_in, w_out, w_err;
	size_t rlen;
	char req[REQ_MAX + 1];
	struct buf q;             /* pending output to this client */
};
static struct conn **conns;
static size_t nconns;

/*
 * The embedded DNS relay of a container on a macvlan/ipvlan network (berthd's DNS servers sit
 * on bridges it cannot reach): a UDP socket on 127.0.0.11, port chosen by the kernel, made in
 * the container's network namespace (--dns-netns); berthd DNATs 127.0.0.11:53 to it inside the
 * namespace, takes the queries over a "dns" connection and answers there. Frames both ways:
 * u16 length (big-endian) of what follows, the peer's IPv4 address (4 bytes) and port (u16),
 * the DNS message.
 */
static int dns_fd = -1, dns_port;
static struct conn *dns_conn;
static unsigned char dns_in[6 + 65535 + 2];
static size_t dns_inlen;
static void dns_answers(struct conn *c);

/* ------------------------------------------------------------------ helpers */

static void logmsg(const char *fmt, ...)
{
	char b[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(b, sizeof b, fmt, ap);
	va_end(ap);
	dprintf(2, "berth-shim[%d] %s: %s\n", (int)getpid(), o.id ? o.id : "-", b);
}

static int write_all(int fd, const void *p, size_t n)
{
	const char *c = p;
	while (n) {
		ssize_t r = write(fd, c, n);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		c += r;
		n -= r;
	}
	return 0;
}

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

static void set_nonblock(int fd)
{
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/* JSON-escape n bytes into d (room for 6*n needed); bytes >= 0x80 pass through. */
static size_t jesc(char *d, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	char *p = d;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = s[i];
		if (c >= 0x20 && c != '"' && c != '\\') {
			*p++ = c;
			continue;
		}
		*p++ = '\\';
		switch (c) {
		case '"': *p++ = '"'; break;
		case '\\': *p++ = '\\'; break;
		case '\n': *p++ = 'n'; break;
		case '\r': *p++ = 'r'; break;
		case '\t': *p++ = 't'; break;
		case '\b': *p++ = 'b'; break;
		case '\f': *p++ = 'f'; break;
		default:
			*p++ = 'u'; *p++ = '0'; *p++ = '0';
			*p++ = hex[c >> 4];
			*p++ = hex[c & 15];
		}
	}
	return p - d;
}

/* Go's time.RFC3339Nano in UTC: fraction with trailing zeros trimmed, none if 0. */
static void fmt_time(char out[48], const struct timespec *ts)
{
	struct tm tm;
	gmtime_r(&ts->tv_sec, &tm);
	size_t n = strftime(out, 40, "%Y-%m-%dT%H:%M:%S", &tm);
	if (ts->tv_nsec) {
		char f[16];
		int k = snprintf(f, sizeof f, ".%09ld", (long)ts->tv_nsec);
		while (f[k - 1] == '0')
			k--;
		memcpy(out + n, f, k);
		n += k;
	}
	out[n++] = 'Z';
	out[n] = 0;
}

static int parse_num(const char *s, long long lo, long long hi, long long *v)
{
	char *e;
	errno = 0;
	long long x = strtoll(s, &e, 10);
	if (!*s || *e || errno || x < lo || x > hi)
		return -1;
	*v = x;
	return 0;
}

/* ------------------------------------------------------------------ buffers */

static size_t buf_used(const struct buf *b) { return b->len - b->off; }

static void buf_free(struct buf *b)
{
	free(b->d);
	memset(b, 0, sizeof *b);
}

static int buf_add(struct buf *b, const void *p, size_t n)
{
	if (b->len + n > b->cap) {
		if (b->off) {
			memmove(b->d, b->d + b->off, b->len - b->off);
			b->len -= b->off;
			b->off = 0;
		}
		if (b->len + n > b->cap) {
			size_t c = b->cap ? b->cap : 4096;
			while (c < b->len + n)
				c *= 2;
			char *d = realloc(b->d, c);
			if (!d)
				return -1;
			b->d = d;
			b->cap = c;
		}
	}
	memcpy(b->d + b->len, p, n);
	b->len += n;
	return 0;
}

/* Write queued bytes to a non-blocking fd: 0 = ok or would block, -1 = fd broken. */
static int buf_flush(struct buf *b, int fd)
{
	while (b->off < b->len) {
		ssize_t r = write(fd, b->d + b->off, b->len - b->off);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return errno == EAGAIN ? 0 : -1;
		}
		b->off += r;
	}
	b->off = b->len = 0;
	if (b->cap > 65536) /* give big queues back so the idle shim stays small */
		buf_free(b);
	return 0;
}

/* -------------------------------------------------------------- json-file log */

static struct {
	int fd;
	long long size;           /* file size including what is still buffered */
	size_t wl;
	char wb[65536];
	size_t plen[2];
	char part[2][LOG_LINE_MAX];
	char ts[48];
} lg = { .fd = -1 };

static int log_open(void)
{
	struct stat st;
	lg.fd = open(o.log_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
	if (lg.fd < 0)
		return -1;
	lg.size = fstat(lg.fd, &st) ? 0 : st.st_size;
	return 0;
}

static void log_flush(void)
{
	if (lg.wl && lg.fd >= 0 && write_all(lg.fd, lg.wb, lg.wl) < 0)
		logmsg("log write: %s", strerror(errno));
	lg.wl = 0;
}

/* --log-compress: the gzip of the last rotated file, still running (0: none). */
static pid_t gz_pid;

/* Compress FILE.1 to FILE.1.gz beside the log loop (moby compresses in a goroutine): gzip
 * writes FILE.1.gz and then removes FILE.1, so a reader finds one whole file or the other. */
static void log_compress_rotated(void)
{
	char f[PATH_MAX + 16];
	snprintf(f, sizeof f, "%s.1", o.log_path);
	pid_t p = fork();
	if (p == 0) {
		int nul = open("/dev/null", O_RDWR | O_CLOEXEC);
		if (nul >= 0) {
			dup2(nul, 0);
			dup2(nul, 1);
		}
		execlp("gzip", "gzip", "-f", "-q", f, (char *)NULL);
		_exit(127);
	}
	if (p < 0)
		logmsg("fork gzip: %s", strerror(errno));
	else
		gz_pid = p;
}

static void log_rotate(void)
{
	log_flush();
	if (o.log_max_file > 1) {
		char a[PATH_MAX + 16], b[PATH_MAX + 16];
		/* The previous compression finishes first, so FILE.1 is FILE.1.gz by now (the exit
		 * loop may have reaped it already: ECHILD). */
		if (gz_pid > 0) {
			while (waitpid(gz_pid, NULL, 0) < 0 && errno == EINTR)
				;
			gz_pid = 0;
		}
		/* FILE.(M-2) -> FILE.(M-1), ..., FILE -> FILE.1; the oldest is overwritten */
		for (int i = o.log_max_file - 1; i >= 1; i--) {
			const char *gz = o.log_compress && i > 1 ? ".gz" : "";
			if (i == 1)
				snprintf(a, sizeof a, "%s", o.log_path);
			else
				snprintf(a, sizeof a, "%s.%d%s", o.log_path, i - 1, gz);
			snprintf(b, sizeof b, "%s.%d%s", o.log_path, i, gz);
			if (rename(a, b) < 0 && errno != ENOENT)
				logmsg("rotate %s: %s", a, strerror(errno));
		}
		if (o.log_compress)
			log_compress_rotated();
		close_fd(&lg.fd);
		if (log_open() < 0)
			logmsg("reopen log: %s", strerror(errno));
	} else if (ftruncate(lg.fd, 0) < 0) {
		logmsg("truncate log: %s", strerror(errno));
	}
	lg.size = 0;
}

static void log_write(const char *p, size_t n)
{
	if (lg.fd < 0)
		return;
	if (o.log_max_size > 0 && lg.size > 0 && lg.size + (long long)n > o.log_max_size)
		log_rotate();
	if (lg.wl + n > sizeof lg.wb)
		log_flush();
	if (n > sizeof lg.wb) {
		if (write_all(lg.fd, p, n) < 0)
			logmsg("log write: %s", strerror(errno));
	} else {
		memcpy(lg.wb + lg.wl, p, n);
		lg.wl += n;
	}
	lg.size += n;
}

/* IP:PORT (an IPv6 address bare or in brackets; the daemon resolved any name) as a socket address. */
static int parse_ip_port(const char *where, struct sockaddr_storage *sa, socklen_t *len)
{
	char host[128];
	const char *colon = strrchr(where, ':');
	int bracket = where[0] == '[';
	if (!colon || (size_t)(colon - where) >= sizeof host || colon - where < 2 * bracket)
		return errno = EINVAL, -1;
	size_t hl = colon - where - 2 * bracket;
	memcpy(host, where + bracket, hl);
	host[hl] = 0;
	int port = atoi(colon + 1);
	memset(sa, 0, sizeof *sa);
	struct sockaddr_in *in = (struct sockaddr_in *)sa;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)sa;
	if (inet_pton(AF_INET, host, &in->sin_addr) == 1) {
		in->sin_family = AF_INET;
		in->sin_port = htons(port);
		*len = sizeof *in;
	} else if (inet_pton(AF_INET6, host, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons(port);
		*len = sizeof *in6;
	} else {
		return errno = EINVAL, -1;
	}
	return 0;
}

/* ------------------------------------------------------------------- syslog */

/* The syslog driver (moby's, with srslog's formats): each log entry is one message,
 * "<PRI>" [ "1 " ] TIMESTAMP " " HEAD LINE "\n", where the daemon made HEAD (hostname, tag,
 * pid, as the format wants them). Addresses: udp:IP:PORT, tcp:IP:PORT, unix:PATH,
 * unixgram:PATH, or "" for the host's own syslog socket (/dev/log …). */
static struct {
	int fd, stream, format, facility; /* format: 0 unix, 1 rfc3164, 2 rfc5424, 3 rfc5424micro */
	struct sockaddr_storage sa;
	socklen_t salen;
	int family, type;
	char *buf;
	time_t warned;
} sl = { .fd = -1 };

static int syslog_connect(void)
{
	int fd = socket(sl.family, sl.type | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&sl.sa, sl.salen) < 0) {
		close(fd);
		return -1;
	}
	sl.fd = fd;
	return 0;
}

static int syslog_target(const char *proto, const char *where)
{
	memset(&sl.sa, 0, sizeof sl.sa);
	if (!strcmp(proto, "unix") || !strcmp(proto, "unixgram")) {
		struct sockaddr_un *un = (struct sockaddr_un *)&sl.sa;
		if (strlen(where) >= sizeof un->sun_path)
			return -1;
		un->sun_family = AF_UNIX;
		strcpy(un->sun_path, where);
		sl.salen = sizeof *un;
		sl.family = AF_UNIX;
		sl.type = strcmp(proto, "unix") ? SOCK_DGRAM : SOCK_STREAM;
	} else {
		if (parse_ip_port(where, &sl.sa, &sl.salen) < 0)
			return -1;
		sl.family = sl.sa.ss_family;
		sl.type = strcmp(proto, "tcp") ? SOCK_DGRAM : SOCK_STREAM;
	}
	sl.stream = sl.type == SOCK_STREAM;
	return 0;
}

/* Connects to the syslog; the host's own socket when no address is given (moby tries these). */
static int syslog_open(void)
{
	if (!strcmp(o.syslog_format ? o.syslog_format : "", "rfc3164"))
		sl.format = 1;
	else if (o.syslog_format && !strcmp(o.syslog_format, "rfc5424"))
		sl.format = 2;
	else if (o.syslog_format && !strcmp(o.syslog_format, "rfc5424micro"))
		sl.format = 3;
	sl.facility = o.syslog_facility ? atoi(o.syslog_facility) : 3;
	if (!(sl.buf = malloc(LOG_LINE_MAX + 4096)))
		return -1;
	if (o.syslog_addr && *o.syslog_addr) {
		char proto[16];
		const char *colon = strchr(o.syslog_addr, ':');
		if (!colon || (size_t)(colon - o.syslog_addr) >= sizeof proto)
			return -1;
		memcpy(proto, o.syslog_addr, colon - o.syslog_addr);
		proto[colon - o.syslog_addr] = 0;
		if (syslog_target(proto, colon + 1) < 0)
			return -1;
		return syslog_connect();
	}
	static const char *paths[] = { "/dev/log", "/var/run/syslog", "/var/run/log" };
	for (size_t i = 0; i < sizeof paths / sizeof *paths; i++)
		for (int gram = 1; gram >= 0; gram--)
			if (syslog_target(gram ? "unixgram" : "unix", paths[i]) == 0 && syslog_connect() == 0)
				return 0;
	return -1;
}

static void syslog_send(int s, const char *p, size_t n, const struct timespec *ts)
{
	if (sl.fd < 0 && (!sl.salen || syslog_connect() < 0))
		return;
	if (n && p[n - 1] == '\n')
		n--;
	if (n > LOG_LINE_MAX)
		n = LOG_LINE_MAX;
	struct tm tm;
	localtime_r(&ts->tv_sec, &tm);
	char *b = sl.buf;
	int k = snprintf(b, 64, "<%d>", sl.facility * 8 + (s ? 3 : 6)); /* err or info */
	if (sl.format >= 2) {
		k += snprintf(b + k, 8, "1 ");
		k += (int)strftime(b + k, 32, "%Y-%m-%dT%H:%M:%S", &tm);
		if (sl.format == 3 && ts->tv_nsec / 1000) {
			char f[16];
			int fl = snprintf(f, sizeof f, ".%06ld", (long)(ts->tv_nsec / 1000));
			while (f[fl - 1] == '0')
				fl--;
			memcpy(b + k, f, fl);
			k += fl;
		}
		long off = tm.tm_gmtoff;
		if (off == 0)
			b[k++] = 'Z';
		else
			k += snprintf(b + k, 16, "%c%02ld:%02ld", off < 0 ? '-' : '+', labs(off) / 3600, labs(off) % 3600 / 60);
	} else {
		k += (int)strftime(b + k, 32, "%b %e %H:%M:%S", &tm);
	}
	b[k++] = ' ';
	size_t hl = strlen(o.syslog_head ? o.syslog_head : "");
	if (hl > 3000)
		hl = 3000;
	memcpy(b + k, o.syslog_head, hl);
	k += hl;
	memcpy(b + k, p, n);
	k += n;
	b[k++] = '\n';
	ssize_t w = sl.stream ? write_all(sl.fd, b, k) : send(sl.fd, b, k, MSG_NOSIGNAL);
	if (w < 0 && errno != ECONNREFUSED) {
		/* a stream that broke is reconnected at the next message (srslog does) */
		if (sl.stream)
			close_fd(&sl.fd);
		if (time(NULL) != sl.warned) {
			sl.warned = time(NULL);
			logmsg("syslog: %s", strerror(errno));
		}
	}
}

/* --------------------------------------------------------------------- gelf */

/* The gelf driver (moby's, with go-gelf's writers): each log entry is one JSON message,
 * HEAD "\"" LINE "\",\"timestamp\":" SECONDS ",\"level\":" 6|3 TAIL, where the daemon made
 * HEAD and TAIL (host, the container's extra fields). Over UDP it is compressed (gzip, zlib or
 * none) and cut into GELF chunks past 1420 bytes; over TCP it is sent as is, ended by a NUL. */
#define GELF_CHUNK 1420
#define GELF_CHUNK_DATA (GELF_CHUNK - 12)
#define GELF_MAX_CHUNKS 128
static struct {
	int fd, tcp, compression, level; /* compression: 0 gzip, 1 zlib, 2 none */
	int max_reconnect, delay, tries;
	int64_t retry_at;                /* monotonic ms of the next reconnection; 0: none */
	struct buf q;                    /* TCP lines waiting for it, each ending in NUL */
	struct sockaddr_storage sa;
	socklen_t salen;
	char *msg, *z;
	size_t zcap;
	z_stream zs[2];
	int zinit[2];
	time_t warned;
	char where[160];                 /* IP:PORT, for messages */
} gl = { .fd = -1 };

/* A string as Go's encoding/json writes it: HTML characters, U+2028/9 and control characters
 * escaped, invalid UTF-8 replaced by U+FFFD. d must hold 6 bytes per input byte. */
static size_t gjesc(char *d, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *u = (const unsigned char *)s;
	char *p = d;
	for (size_t i = 0; i < n;) {
		unsigned c = u[i];
		if (c < 0x80) {
			if (c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&') {
				*p++ = c;
			} else if (c == '"' || c == '\\') {
				*p++ = '\\';
				*p++ = c;
			} else if (c == '\n' || c == '\r' || c == '\t') {
				*p++ = '\\';
				*p++ = c == '\n' ? 'n' : c == '\r' ? 'r' : 't';
			} else {
				memcpy(p, "\\u00", 4);
				p[4] = hex[c >> 4];
				p[5] = hex[c & 15];
				p += 6;
			}
			i++;
			continue;
		}
		/* the length and validity of a UTF-8 sequence, as Go's utf8.DecodeRune judges it */
		size_t len = c >= 0xf0 && c <= 0xf4 ? 4 : c >= 0xe0 ? 3 : c >= 0xc2 && c < 0xe0 ? 2 : 0;
		unsigned lo = 0x80, hi = 0xbf;
		if (c == 0xe0) lo = 0xa0;
		else if (c == 0xed) hi = 0x9f;
		else if (c == 0xf0) lo = 0x90;
		else if (c == 0xf4) hi = 0x8f;
		int ok = len && i + len <= n && u[i + 1] >= lo && u[i + 1] <= hi;
		for (size_t k = 2; ok && k < len; k++)
			ok = u[i + k] >= 0x80 && u[i + k] <= 0xbf;
		if (!ok) {
			memcpy(p, "\\ufffd", 6);
			p += 6;
			i++;
			continue;
		}
		if (c == 0xe2 && u[i + 1] == 0x80 && (u[i + 2] == 0xa8 || u[i + 2] == 0xa9)) {
			memcpy(p, u[i + 2] == 0xa8 ? "\\u2028" : "\\u2029", 6);
			p += 6;
		} else {
			memcpy(p, u + i, len);
			p += len;
		}
		i += len;
	}
	return p - d;
}

static int gelf_connect(void)
{
	int fd = socket(gl.sa.ss_family, (gl.tcp ? SOCK_STREAM : SOCK_DGRAM) | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&gl.sa, gl.salen) < 0) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	gl.fd = fd;
	return 0;
}

/* Parses the address (udp:IP:PORT, tcp:IP:PORT, an IPv6 IP in brackets) and connects. */
static int gelf_open(void)
{
	const char *a = o.gelf_addr;
	gl.tcp = !strncmp(a, "tcp:", 4);
	if (!gl.tcp && strncmp(a, "udp:", 4))
		return errno = EINVAL, -1;
	a += 4;
	snprintf(gl.where, sizeof gl.where, "%s", a);
	if (parse_ip_port(a, &gl.sa, &gl.salen) < 0)
		return -1;
	const char *c = o.gelf_compression ? o.gelf_compression : "gzip";
	gl.compression = !strcmp(c, "zlib") ? 1 : !strcmp(c, "none") ? 2 : 0;
	gl.level = o.gelf_level ? atoi(o.gelf_level) : 1;
	gl.max_reconnect = o.gelf_max_reconnect ? atoi(o.gelf_max_reconnect) : 3;
	gl.delay = o.gelf_delay ? atoi(o.gelf_delay) : 1;
	size_t cap = strlen(o.gelf_head) + LOG_LINE_MAX * 6 + strlen(o.gelf_tail ? o.gelf_tail : "") + 64;
	if (!(gl.msg = malloc(cap)))
		return -1;
	return gelf_connect();
}

static void gelf_warn(const char *what)
{
	if (time(NULL) != gl.warned) {
		gl.warned = time(NULL);
		logmsg("gelf: %s: %s", what, strerror(errno));
	}
}

/* Deflates the message into gl.z as gzip or zlib (a stream per kind, reset for each message). */
static ssize_t gelf_deflate(const char *m, size_t n)
{
	int k = gl.compression;
	z_stream *zs = &gl.zs[k];
	if (!gl.zinit[k]) {
		if (deflateInit2(zs, gl.level, Z_DEFLATED, k == 0 ? 15 + 16 : 15, 8, Z_DEFAULT_STRATEGY) != Z_OK)
			return -1;
		gl.zinit[k] = 1;
	} else {
		deflateReset(zs);
	}
	size_t need = deflateBound(zs, n);
	if (need > gl.zcap) {
		char *z = realloc(gl.z, need);
		if (!z)
			return -1;
		gl.z = z;
		gl.zcap = need;
	}
	zs->next_in = (Bytef *)m;
	zs->avail_in = n;
	zs->next_out = (Bytef *)gl.z;
	zs->avail_out = gl.zcap;
	if (deflate(zs, Z_FINISH) != Z_STREAM_END)
		return -1;
	return gl.zcap - zs->avail_out;
}

/* go-gelf's chunking: magic 0x1e 0x0f, an 8-byte message id, the sequence number and count. */
static void gelf_send_udp(const char *b, size_t n)
{
	if (n <= GELF_CHUNK) {
		if (send(gl.fd, b, n, MSG_NOSIGNAL) < 0 && errno != ECONNREFUSED)
			gelf_warn("send");
		return;
	}
	size_t count = n / GELF_CHUNK_DATA + 1;
	if (count > GELF_MAX_CHUNKS) {
		errno = EMSGSIZE;
		gelf_warn("message too large");
		return;
	}
	unsigned char c[GELF_CHUNK];
	c[0] = 0x1e;
	c[1] = 0x0f;
	if (getrandom(c + 2, 8, 0) != 8)
		for (int i = 0; i < 8; i++)
			c[2 + i] = rand();
	c[11] = count;
	for (size_t i = 0, off = 0; i < count; i++) {
		size_t len = n - off < GELF_CHUNK_DATA ? n - off : GELF_CHUNK_DATA;
		c[10] = i;
		memcpy(c + 12, b + off, len);
		off += len;
		if (send(gl.fd, c, 12 + len, MSG_NOSIGNAL) < 0 && errno != ECONNREFUSED) {
			gelf_warn("send");
			return;
		}
	}
}

/* TCP, as go-gelf's writer: a line that finds the connection broken is tried again after each of
 * up to max-reconnect reconnections, delay seconds apart, then dropped, and the next waiting line
 * gets its own tries. go-gelf sleeps in between, stalling the container's output; the shim waits
 * with a timer (gelf_retry from the main loop) and queues later lines meanwhile (1 MiB at most). */
#define GELF_QUEUE_MAX (1u << 20)
static void gelf_schedule(void)
{
	gl.retry_at = now_ms() + gl.delay * 1000LL;
}

static void gelf_send_tcp(const char *b, size_t n)
{
	if (gl.fd >= 0 && buf_used(&gl.q) == 0) {
		if (write_all(gl.fd, b, n) == 0)
			return;
		gelf_warn("write");
		close_fd(&gl.fd);
	}
	if (buf_used(&gl.q) + n > GELF_QUEUE_MAX) {
		errno = ENOBUFS;
		gelf_warn("queue full, line dropped");
		return;
	}
	if (buf_used(&gl.q) == 0) {
		gl.tries = 0;
		gelf_schedule();
	}
	buf_add(&gl.q, b, n);
}

static void gelf_retry(void)
{
	gl.retry_at = 0;
	if (gl.fd < 0 && gelf_connect() < 0) {
		gelf_warn("reconnect");
		if (++gl.tries > gl.max_reconnect) {
			/* "Maximum reconnection attempts was reached; giving up" on the first line */
			char *d = gl.q.d + gl.q.off, *nul = memchr(d, 0, buf_used(&gl.q));
			gl.q.off += nul ? (size_t)(nul - d) + 1 : buf_used(&gl.q);
			gl.tries = 0;
		}
		if (buf_used(&gl.q))
			gelf_schedule();
		else
			buf_free(&gl.q);
		return;
	}
	/* each waiting line as one write, as go-gelf sends them */
	while (buf_used(&gl.q)) {
		char *d = gl.q.d + gl.q.off, *nul = memchr(d, 0, buf_used(&gl.q));
		size_t len = nul ? (size_t)(nul - d) + 1 : buf_used(&gl.q);
		if (write_all(gl.fd, d, len) < 0) {
			gelf_warn("write");
			close_fd(&gl.fd);
			gl.tries++;
			gelf_schedule();
			return;
		}
		gl.q.off += len;
		gl.tries = 0;
	}
	buf_free(&gl.q);
}

static void gelf_send(int s, const char *p, size_t n, const struct timespec *ts)
{
	if (n && p[n - 1] == '\n')
		n--;
	if (!n)
		return; /* moby's driver sends no empty line */
	char *m = gl.msg;
	size_t hl = strlen(o.gelf_head), k = hl;
	memcpy(m, o.gelf_head, hl);
	m[k++] = '"';
	k += gjesc(m + k, p, n);
	/* float64(UnixNano/1e6)/1000 as Go writes it: the milliseconds' trailing zeros trimmed */
	long ms = ts->tv_nsec / 1000000;
	k += sprintf(m + k, "\",\"timestamp\":%lld", (long long)ts->tv_sec);
	if (ms) {
		char f[8];
		int fl = snprintf(f, sizeof f, ".%03ld", ms);
		while (f[fl - 1] == '0')
			fl--;
		memcpy(m + k, f, fl);
		k += fl;
	}
	k += sprintf(m + k, ",\"level\":%d", s ? 3 : 6);
	size_t tl = strlen(o.gelf_tail ? o.gelf_tail : "");
	memcpy(m + k, o.gelf_tail, tl);
	k += tl;
	if (gl.tcp) {
		m[k++] = 0;
		gelf_send_tcp(m, k);
		return;
	}
	if (gl.fd < 0)
		return;
	if (gl.compression == 2) {
		gelf_send_udp(m, k);
		return;
	}
	ssize_t z = gelf_deflate(m, k);
	if (z < 0) {
		errno = ENOMEM;
		gelf_warn("compress");
		return;
	}
	gelf_send_udp(gl.z, z);
}

/* ------------------------------------------------------------ partial lines */

/* moby's copier: a line cut into parts (at 16 KiB, or by the end of the output) carries an
 * ID, its ordinal and whether it is the last part, and every part has the first part's time.
 * For the drivers that record it (fluentd, journald); one state per stream. */
static struct partial {
	int more, ord;
	char id[65];
	struct timespec ts;
} part[2];

struct part_meta {
	int partial, last, ord;
	const char *id;
	struct timespec ts;
};

/* Strips the newline of a complete line; fills in the part's metadata and time. */
static void partial_meta(int s, const char *p, size_t *n, const struct timespec *now, struct part_meta *m)
{
	int complete = *n && p[*n - 1] == '\n';
	if (complete)
		(*n)--;
	memset(m, 0, sizeof *m);
	m->ts = *now;
	struct partial *ps = &part[s];
	if (!complete) {
		if (!ps->more) {
			unsigned char id[32];
			if (getrandom(id, sizeof id, 0) != (ssize_t)sizeof id)
				for (size_t i = 0; i < sizeof id; i++)
					id[i] = rand();
			for (size_t i = 0; i < sizeof id; i++)
				sprintf(ps->id + 2 * i, "%02x", id[i]);
			ps->ts = *now;
			ps->ord = 0;
			ps->more = 1;
		}
		m->partial = 1;
		m->ord = ++ps->ord;
		m->ts = ps->ts;
		m->id = ps->id;
	} else if (ps->more) {
		m->partial = m->last = 1;
		m->ord = ps->ord + 1;
		m->ts = ps->ts;
		m->id = ps->id;
		ps->more = 0;
	}
}

/* ------------------------------------------------------------------ fluentd */

/* The fluentd driver (moby's, with fluent-logger-golang): each log entry is one event in the
 * forward protocol's Message mode, msgpack [TAG, TIME, RECORD, OPTION]; the daemon encoded the
 * array head and tag, and the record's fields besides source, log and the partial-line ones.
 * fluent-logger writes each event with retries, blocking the container's output meanwhile;
 * the shim queues events instead (fluentd-buffer-limit of them), sends them in order, and
 * retries from the main loop's timer with the logger's back-off. */
#define FL_MAX_RETRY_WAIT 60000
#define FL_DIAL_MS 3000
static struct {
	int fd, keys, nfields;
	long long buffer_limit;
	long retry_wait, max_retries, reconnect_ms, wtimeout, rtimeout;
	unsigned char *head, *fields;
	size_t headlen, fieldslen;
	struct sockaddr_storage sa;
	socklen_t salen;
	struct buf q;        /* events: u32 length, u8 ack length, ack id, event */
	size_t count;
	long tries;          /* failed connections or writes for the first event */
	int64_t retry_at;    /* monotonic ms of the next connection attempt; 0: at once */
	int64_t connected_at;
	int awaiting;        /* the first event's ack is awaited on fd */
	int64_t ack_deadline;
	unsigned char rb[128];
	size_t rlen;
	unsigned char *ev;   /* the event being encoded */
	time_t warned;
	long dropped;
	char where[PATH_MAX + 16];
} fl = { .fd = -1 };

static void fl_warn(const char *what)
{
	if (time(NULL) != fl.warned) {
		fl.warned = time(NULL);
		logmsg("fluentd: %s: %s", what, strerror(errno));
	}
}

static unsigned char *unhex(const char *h, size_t *len)
{
	size_t n = strcmp(h, "-") ? strlen(h) / 2 : 0;
	unsigned char *b = malloc(n + 1);
	if (!b)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		unsigned v;
		if (sscanf(h + 2 * i, "%2x", &v) != 1) {
			free(b);
			return NULL;
		}
		b[i] = v;
	}
	*len = n;
	return b;
}

/* Go's net.Dialer with its 3 s timeout (fluent-logger's default), then blocking again. */
static int fl_connect(void)
{
	int fd = socket(fl.sa.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&fl.sa, fl.salen) < 0) {
		int e = errno;
		if (e == EINPROGRESS) {
			struct pollfd p = { fd, POLLOUT, 0 };
			socklen_t el = sizeof e;
			int r = poll(&p, 1, FL_DIAL_MS);
			if (r == 0)
				e = ETIMEDOUT;
			else if (r < 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &el) < 0)
				e = errno;
		}
		if (e) {
			close(fd);
			errno = e;
			return -1;
		}
	}
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	if (fl.wtimeout > 0) {
		struct timeval tv = { fl.wtimeout / 1000, fl.wtimeout % 1000 * 1000 };
		setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
	}
	fl.fd = fd;
	fl.connected_at = now_ms();
	return 0;
}

static int fl_open(void)
{
	const char *a = o.fl_addr;
	snprintf(fl.where, sizeof fl.where, "%s", a);
	memset(&fl.sa, 0, sizeof fl.sa);
	if (!strncmp(a, "unix:", 5)) {
		struct sockaddr_un *un = (struct sockaddr_un *)&fl.sa;
		if (strlen(a + 5) >= sizeof un->sun_path)
			return errno = ENAMETOOLONG, -1;
		un->sun_family = AF_UNIX;
		strcpy(un->sun_path, a + 5);
		fl.salen = sizeof *un;
	} else if (!strncmp(a, "tcp:", 4)) {
		if (parse_ip_port(a + 4, &fl.sa, &fl.salen) < 0)
			return -1;
	} else {
		return errno = EINVAL, -1;
	}
	if (!(fl.head = unhex(o.fl_head ? o.fl_head : "-", &fl.headlen)) ||
	    !(fl.fields = unhex(o.fl_fields ? o.fl_fields : "-", &fl.fieldslen)))
		return errno = EINVAL, -1;
	fl.nfields = o.fl_nfields ? atoi(o.fl_nfields) : 0;
	fl.keys = o.fl_keys ? atoi(o.fl_keys) : 3;
	fl.buffer_limit = o.fl_buffer_limit ? atoll(o.fl_buffer_limit) : 1 << 20;
	fl.retry_wait = o.fl_retry_wait ? atol(o.fl_retry_wait) : 1000;
	fl.max_retries = o.fl_max_retries ? atol(o.fl_max_retries) : 2147483647L;
	fl.reconnect_ms = o.fl_reconnect ? atol(o.fl_reconnect) : 0;
	fl.wtimeout = o.fl_wtimeout ? atol(o.fl_wtimeout) : 0;
	fl.rtimeout = o.fl_rtimeout ? atol(o.fl_rtimeout) : 0;
	if (!(fl.ev = malloc(fl.headlen + fl.fieldslen + LOG_LINE_MAX + 512)))
		return -1;
	/* fluent-logger connects at once unless asynchronous (then from its goroutine) */
	return o.fl_async ? 0 : fl_connect();
}

static unsigned char *mp_str(unsigned char *p, const void *s, size_t n)
{
	if (n < 32) {
		*p++ = 0xa0 | n;
	} else if (n < 256) {
		*p++ = 0xd9;
		*p++ = n;
	} else if (n < 65536) {
		*p++ = 0xda;
		*p++ = n >> 8;
		*p++ = n;
	} else {
		*p++ = 0xdb;
		for (int i = 3; i >= 0; i--)
			*p++ = n >> (8 * i);
	}
	memcpy(p, s, n);
	return p + n;
}

static unsigned char *mp_cstr(unsigned char *p, const char *s)
{
	return mp_str(p, s, strlen(s));
}

/* msgp's AppendInt64 for a time in seconds (never negative here): the smallest signed form. */
static unsigned char *mp_time(unsigned char *p, long long v)
{
	int bytes;
	if (v <= 127) {
		*p++ = v;
		return p;
	} else if (v <= 32767) {
		*p++ = 0xd1, bytes = 2;
	} else if (v <= 2147483647LL) {
		*p++ = 0xd2, bytes = 4;
	} else {
		*p++ = 0xd3, bytes = 8;
	}
	for (int i = bytes - 1; i >= 0; i--)
		*p++ = v >> (8 * i);
	return p;
}

static void fl_pop(void)
{
	uint32_t len;
	memcpy(&len, fl.q.d + fl.q.off, 4);
	fl.q.off += 4 + len;
	fl.count--;
	fl.tries = 0;
	if (!fl.count)
		buf_free(&fl.q);
}

static void fl_drop(const char *why)
{
	fl.dropped++;
	logmsg("fluentd: %s; an event dropped (%ld so far)", why, fl.dropped);
	fl_pop();
}

/* fluent-logger's back-off after the i-th failed attempt (from 0): RetryWait × ⌊1.5^(i−1)⌋ ms, at most 60 s. */
static long fl_backoff(long i)
{
	double f = 1 / 1.5;
	for (long k = 0; k < i && f * fl.retry_wait < FL_MAX_RETRY_WAIT; k++)
		f *= 1.5;
	double w = (double)fl.retry_wait * (long long)f;
	return w > FL_MAX_RETRY_WAIT ? FL_MAX_RETRY_WAIT : (long)w;
}

static void fl_failed(const char *what)
{
	fl_warn(what);
	close_fd(&fl.fd);
	fl.awaiting = 0;
	if (++fl.tries >= fl.max_retries) {
		char why[96];
		snprintf(why, sizeof why, "could not send after %ld attempts", fl.tries);
		fl_drop(why);
		fl.retry_at = 0;
		return;
	}
	fl.retry_at = now_ms() + fl_backoff(fl.tries - 1);
}

/* Sends what is queued, in order, as far as the connection and acks allow. */
static void fl_pump(void)
{
	while (fl.count && !fl.awaiting) {
		int64_t now = now_ms();
		/* fluentd-async-reconnect-interval: a fresh connection (and name) now and then */
		if (o.fl_async && fl.reconnect_ms && fl.fd >= 0 && now - fl.connected_at > fl.reconnect_ms)
			close_fd(&fl.fd);
		if (fl.fd < 0) {
			if (fl.retry_at && now < fl.retry_at)
				return;
			fl.retry_at = 0;
			if (fl_connect() < 0) {
				fl_failed("connect");
				continue;
			}
		}
		unsigned char *r = (unsigned char *)fl.q.d + fl.q.off;
		uint32_t len;
		memcpy(&len, r, 4);
		size_t acklen = r[4];
		if (write_all(fl.fd, r + 5 + acklen, len - 1 - acklen) < 0) {
			fl_failed("write");
			continue;
		}
		if (acklen) {
			fl.awaiting = 1;
			fl.rlen = 0;
			fl.ack_deadline = fl.rtimeout > 0 ? now_ms() + fl.rtimeout : 0;
			return;
		}
		fl_pop();
	}
}

/* The server's answer to a chunk option: {"ack": ID}, in msgpack. */
static void fl_read_ack(void)
{
	ssize_t r = read(fl.fd, fl.rb + fl.rlen, sizeof fl.rb - fl.rlen);
	if (r <= 0) {
		if (r < 0 && (errno == EINTR || errno == EAGAIN))
			return;
		if (r == 0)
			errno = ECONNRESET;
		fl_failed("read ack");
		fl_pump();
		return;
	}
	fl.rlen += r;
	unsigned char *q = (unsigned char *)fl.q.d + fl.q.off;
	size_t acklen = q[4];
	unsigned char want[160], *w = want;
	*w++ = 0x81;
	w = mp_cstr(w, "ack");
	w = mp_str(w, q + 5, acklen);
	size_t wl = w - want;
	if (fl.rlen < wl && !memcmp(fl.rb, want, fl.rlen))
		return; /* more to come */
	if (fl.rlen != wl || memcmp(fl.rb, want, wl)) {
		errno = EPROTO;
		fl_failed("ack does not match");
		fl_pump();
		return;
	}
	fl.awaiting = 0;
	fl_pop();
	fl_pump();
}

/* A timer of the main loop: the next attempt or an ack's deadline (-1: none). */
static int64_t fl_timer(void)
{
	if (fl.awaiting)
		return fl.ack_deadline ? fl.ack_deadline : -1;
	if (fl.count && fl.fd < 0)
		return fl.retry_at;
	return -1;
}

static void fl_tick(void)
{
	if (fl.awaiting) {
		if (fl.ack_deadline && now_ms() >= fl.ack_deadline) {
			errno = ETIMEDOUT;
			fl_failed("read ack");
		} else {
			return;
		}
	}
	fl_pump();
}

static void fl_send(int s, const char *p, size_t n, const struct timespec *now)
{
	struct part_meta pm;
	partial_meta(s, p, &n, now, &pm);
	int partial = pm.partial, last = pm.last, ord = pm.ord;
	struct timespec ts = pm.ts;
	if ((long long)fl.count >= fl.buffer_limit) {
		fl.dropped++;
		if (time(NULL) != fl.warned) {
			fl.warned = time(NULL);
			logmsg("fluentd: buffer full, limit %lld; events dropped: %ld", fl.buffer_limit, fl.dropped);
		}
		return;
	}
	char ack[32] = "";
	if (o.fl_ack) {
		/* fluent-logger's unique ID: base64 of the time and a random number, little-endian */
		unsigned char raw[16];
		int64_t t = ts.tv_sec;
		memcpy(raw, &t, 8);
		if (getrandom(raw + 8, 8, 0) != 8)
			for (int i = 8; i < 16; i++)
				raw[i] = rand();
		static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
		char *a = ack;
		for (int i = 0; i < 15; i += 3) {
			unsigned v = raw[i] << 16 | raw[i + 1] << 8 | raw[i + 2];
			*a++ = b64[v >> 18];
			*a++ = b64[(v >> 12) & 63];
			*a++ = b64[(v >> 6) & 63];
			*a++ = b64[v & 63];
		}
		unsigned v = raw[15] << 16;
		*a++ = b64[v >> 18];
		*a++ = b64[(v >> 12) & 63];
		*a++ = '=';
		*a++ = '=';
		*a = 0;
	}
	unsigned char *e = fl.ev, *p0 = e;
	memcpy(e, fl.head, fl.headlen);
	e += fl.headlen;
	if (o.fl_subsec) {
		/* EventTime: msgpack extension 0, seconds and nanoseconds as big-endian 32-bit */
		uint32_t sec = ts.tv_sec, ns = ts.tv_nsec;
		*e++ = 0xd7;
		*e++ = 0;
		for (int i = 3; i >= 0; i--)
			*e++ = sec >> (8 * i);
		for (int i = 3; i >= 0; i--)
			*e++ = ns >> (8 * i);
	} else {
		e = mp_time(e, ts.tv_sec);
	}
	unsigned nf = fl.nfields + (fl.keys & 1) + (fl.keys >> 1 & 1) + (partial ? 4 : 0);
	if (nf < 16) {
		*e++ = 0x80 | nf;
	} else {
		*e++ = 0xde;
		*e++ = nf >> 8;
		*e++ = nf;
	}
	memcpy(e, fl.fields, fl.fieldslen);
	e += fl.fieldslen;
	if (fl.keys & 1) {
		e = mp_cstr(e, "source");
		e = mp_cstr(e, s ? "stderr" : "stdout");
	}
	if (fl.keys & 2) {
		e = mp_cstr(e, "log");
		e = mp_str(e, p, n);
	}
	if (partial) {
		char num[16];
		snprintf(num, sizeof num, "%d", ord);
		e = mp_cstr(e, "partial_message");
		e = mp_cstr(e, "true");
		e = mp_cstr(e, "partial_id");
		e = mp_cstr(e, pm.id);
		e = mp_cstr(e, "partial_ordinal");
		e = mp_cstr(e, num);
		e = mp_cstr(e, "partial_last");
		e = mp_cstr(e, last ? "true" : "false");
	}
	if (*ack) {
		*e++ = 0x81;
		e = mp_cstr(e, "chunk");
		e = mp_cstr(e, ack);
	} else {
		*e++ = 0x80;
	}
	uint32_t len = 1 + strlen(ack) + (e - p0);
	unsigned char al = strlen(ack);
	if (buf_add(&fl.q, &len, 4) < 0 || buf_add(&fl.q, &al, 1) < 0 || buf_add(&fl.q, ack, al) < 0 || buf_add(&fl.q, p0, e - p0) < 0) {
		fl_warn("queue");
		return;
	}
	fl.count++;
	fl_pump();
}

/* ----------------------------------------------------------------- journald */

/* The journald driver (moby's, with go-systemd's journal.Send): each log entry is one
 * datagram of the journal's native protocol to /run/systemd/journal/socket: the daemon's fixed
 * fields (hex: the container's, the tag, the attribute options, this start's log epoch), then
 * the time, the part's fields, the ordinal, PRIORITY and MESSAGE (KEY=VALUE lines; a value
 * with a newline in the binary form, KEY, a 64-bit little-endian length, the bytes). */
static struct {
	int fd;
	unsigned char *fixed, *buf;
	size_t fixedlen;
	unsigned long long ordinal;
	time_t warned;
} jd = { .fd = -1 };

static int jd_open(void)
{
	if (!(jd.fixed = unhex(o.journald_fields, &jd.fixedlen)) || !(jd.buf = malloc(jd.fixedlen + LOG_LINE_MAX + 512)))
		return errno = EINVAL, -1;
	struct sockaddr_un un = { .sun_family = AF_UNIX };
	strcpy(un.sun_path, "/run/systemd/journal/socket");
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&un, sizeof un) < 0) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	jd.fd = fd;
	return 0;
}

static unsigned char *jd_field(unsigned char *b, const char *key, const char *v, size_t n)
{
	size_t kl = strlen(key);
	memcpy(b, key, kl);
	b += kl;
	if (!memchr(v, '\n', n)) {
		*b++ = '=';
	} else {
		*b++ = '\n';
		uint64_t len = n;
		for (int i = 0; i < 8; i++)
			*b++ = len >> (8 * i);
	}
	memcpy(b, v, n);
	b += n;
	*b++ = '\n';
	return b;
}

static void jd_send(int s, const char *p, size_t n, const struct timespec *now)
{
	struct part_meta pm;
	partial_meta(s, p, &n, now, &pm);
	unsigned char *b = jd.buf;
	memcpy(b, jd.fixed, jd.fixedlen);
	b += jd.fixedlen;
	char t[48], num[24];
	fmt_time(t, &pm.ts);
	b = jd_field(b, "SYSLOG_TIMESTAMP", t, strlen(t));
	if (pm.partial) {
		snprintf(num, sizeof num, "%d", pm.ord);
		b = jd_field(b, "CONTAINER_PARTIAL_ID", pm.id, strlen(pm.id));
		b = jd_field(b, "CONTAINER_PARTIAL_ORDINAL", num, strlen(num));
		b = jd_field(b, "CONTAINER_PARTIAL_LAST", pm.last ? "true" : "false", pm.last ? 4 : 5);
		if (!pm.last)
			b = jd_field(b, "CONTAINER_PARTIAL_MESSAGE", "true", 4);
	}
	snprintf(num, sizeof num, "%llu", ++jd.ordinal);
	b = jd_field(b, "CONTAINER_LOG_ORDINAL", num, strlen(num));
	b = jd_field(b, "PRIORITY", s ? "3" : "6", 1);
	b = jd_field(b, "MESSAGE", p, n);
	if (send(jd.fd, jd.buf, b - jd.buf, MSG_NOSIGNAL) < 0 && time(NULL) != jd.warned) {
		jd.warned = time(NULL);
		logmsg("journald: %s", strerror(errno));
	}
}

static struct timespec lg_now;

static void log_entry(int s, const char *p, size_t n)
{
	if (o.syslog_head)
		syslog_send(s, p, n, &lg_now);
	if (o.gelf_head)
		gelf_send(s, p, n, &lg_now);
	if (o.fl_addr)
		fl_send(s, p, n, &lg_now);
	if (o.journald_fields)
		jd_send(s, p, n, &lg_now);
	if (lg.fd < 0)
		return;
	/* {"log":"…","stream":"…","attrs":{…},"time":"…"}: moby's field order; attrs (the
	 * labels/env log options, one JSON object made by the daemon) only when there are any. */
	static char *e;
	static const char *mid[2] = { "\",\"stream\":\"stdout\"", "\",\"stream\":\"stderr\"" };
	static const char attrs_key[] = ",\"attrs\":", time_key[] = ",\"time\":\"";
	size_t al = o.log_attrs ? strlen(o.log_attrs) : 0;
	if (!e && !(e = malloc(LOG_LINE_MAX * 6 + 128 + al))) {
		logmsg("log entry: out of memory");
		return;
	}
	size_t k = 8, ml = strlen(mid[s]), tl = strlen(lg.ts);
	memcpy(e, "{\"log\":\"", 8);
	k += jesc(e + k, p, n);
	memcpy(e + k, mid[s], ml);
	k += ml;
	if (al) {
		memcpy(e + k, attrs_key, sizeof attrs_key - 1);
		k += sizeof attrs_key - 1;
		memcpy(e + k, o.log_attrs, al);
		k += al;
	}
	memcpy(e + k, time_key, sizeof time_key - 1);
	k += sizeof time_key - 1;
	memcpy(e + k, lg.ts, tl);
	k += tl;
	memcpy(e + k, "\"}\n", 3);
	log_write(e, k + 3);
}

/* Split a chunk of stream s (0 stdout, 1 stderr) into log entries at '\n'. */
static void log_data(int s, const char *p, size_t n)
{
	char *part = lg.part[s];
	while (n) {
		const char *nl = memchr(p, '\n', n);
		size_t k = nl ? (size_t)(nl - p) + 1 : n;
		size_t room = LOG_LINE_MAX - lg.plen[s];
		if (k > room) { /* the partial buffer fills up before the newline */
			k = room;
			nl = NULL;
		}
		if (lg.plen[s] == 0 && (nl || k == LOG_LINE_MAX)) {
			log_entry(s, p, k); /* whole line straight from the chunk */
		} else {
			memcpy(part + lg.plen[s], p, k);
			lg.plen[s] += k;
			if (nl || lg.plen[s] == LOG_LINE_MAX) {
				log_entry(s, part, lg.plen[s]);
				lg.plen[s] = 0;
			}
		}
		p += k;
		n -= k;
	}
}

static void log_eof(int s)
{
	if (lg.plen[s] && (lg.fd >= 0 || o.syslog_head || o.gelf_head || o.fl_addr || o.journald_fields)) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		fmt_time(lg.ts, &ts);
		lg_now = ts;
		log_entry(s, lg.part[s], lg.plen[s]);
	}
	lg.plen[s] = 0;
}

/* ------------------------------------------------------------------ runtime */

extern char **environ;

/*
 * The runtime runs from a sealed copy of its binary (sealed.h): the spawner's, shared by every
 * shim (--runtime-exe /proc/<spawner>/fd/N, opened here and kept), or else one of our own,
 * dropped once the process has started so that a running container holds none.
 */
static int rt_exe = -1, rt_exe_shared;

static void rt_exe_open(void)
{
	if (o.runtime_exe) {
		int fd = open(o.runtime_exe, O_RDONLY | O_CLOEXEC);
		if (fd >= 0 && is_sealed_copy(fd)) {
			rt_exe = fd;
			rt_exe_shared = 1;
			return;
		}
		if (fd >= 0)
			close(fd);
	}
	if (strchr(o.runtime, '/'))
		rt_exe = sealed_copy(o.runtime);
}

/* Run RUNTIME --root R --log L --log-format json ARGS... with the given stdio. */
static pid_t rt_spawn(const char **args, int fin, int fout, int ferr)
{
	const char *argv[40];
	int n = 0;
	argv[n++] = o.runtime;
	argv[n++] = "--root";
	argv[n++] = o.rroot;
	argv[n++] = "--log";
	argv[n++] = p_rlog;
	argv[n++] = "--log-format";
	argv[n++] = "json";
	while (*args && n < 39)
		argv[n++] = *args++;
	argv[n] = NULL;

	pid_t pid = fork();
	if (pid == 0) {
		sigset_t none;
		dup2(fin, 0);
		dup2(fout, 1);
		dup2(ferr, 2);
		/* the mask and ignored signals survive exec: undo ours for the container */
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		signal(SIGPIPE, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		signal(SIGINT, SIG_DFL);
		signal(SIGHUP, SIG_DFL);
		/* fails only where memfds may not be executed (vm.memfd_noexec): then by path */
		if (rt_exe >= 0)
			fexecve(rt_exe, (char **)argv, environ);
		execvp(argv[0], (char **)argv);
		_exit(127);
	}
	if (pid < 0)
		logmsg("fork: %s", strerror(errno));
	return pid;
}

static int rt_wait(pid_t pid)
{
	int st;
	if (pid < 0)
		return -1;
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -1;
	return st;
}

static int rt_delete(void)
{
	const char *a[] = { "delete", "--force", o.id, NULL };
	return rt_wait(rt_spawn(a, devnull, 1, 2)); /* its complaints go to shim.log */
}

static off_t file_size(const char *path)
{
	struct stat st;
	return stat(path, &st) ? 0 : st.st_size;
}

/* Decode the JSON string starting at p (just after the opening quote). */
static void json_str(const char *p, char *out, size_t cap)
{
	size_t n = 0;
	while (*p && *p != '"' && n + 4 < cap) {
		unsigned c = (unsigned char)*p++;
		if (c == '\\' && *p) {
			c = (unsigned char)*p++;
			switch (c) {
			case 'n': c = '\n'; break;
			case 'r': c = '\r'; break;
			case 't': c = '\t'; break;
			case 'b': c = '\b'; break;
			case 'f': c = '\f'; break;
			case 'u': {
				char h[5] = { 0 }, *e;
				memcpy(h, p, strnlen(p, 4));
				c = strtoul(h, &e, 16);
				if (e != h + 4)
					c = '?';
				else
					p += 4;
				if (c >= 0xd800 && c < 0xe000)
					c = '?';
				if (c >= 0x800) {
					out[n++] = 0xe0 | (c >> 12);
					out[n++] = 0x80 | ((c >> 6) & 0x3f);
					c = 0x80 | (c & 0x3f);
				} else if (c >= 0x80) {
					out[n++] = 0xc0 | (c >> 6);
					c = 0x80 | (c & 0x3f);
				}
				break;
			}
			}
		}
		out[n++] = c;
	}
	out[n] = 0;
}

/* The error of a failed runtime command: the last "msg" it wrote to runtime.log
 * (after offset off), else its exit status. */
static void rt_error(off_t off, int st, char *msg, size_t cap)
{
	msg[0] = 0;
	int fd = open(p_rlog, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		off_t end = lseek(fd, 0, SEEK_END);
		if (end - off > 65536)
			off = end - 65536;
		size_t n = end > off ? end - off : 0;
		char *b = malloc(n + 1);
		ssize_t r = b ? pread(fd, b, n, off) : -1;
		if (r > 0) {
			b[r] = 0;
			for (char *p = b; (p = strstr(p, "\"msg\":\"")); )
				json_str(p += 7, msg, cap);
		}
		free(b);
		close(fd);
	}
	if (msg[0])
		return;
	if (st < 0) /* fork failed, no console, no pid file: details in shim.log */
		snprintf(msg, cap, "%s failed (see shim.log)", o.runtime);
	else if (WIFSIGNALED(st))
		snprintf(msg, cap, "runtime killed by signal %d", WTERMSIG(st));
	else
		snprintf(msg, cap, "runtime exited with status %d", WEXITSTATUS(st));
}

static pid_t read_pid(void)
{
	char b[32];
	long long v;
	int fd = open(p_pidf, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t n = read(fd, b, sizeof b - 1);
	close(fd);
	if (n <= 0)
		return -1;
	b[n] = 0;
	b[strcspn(b, "\n")] = 0;
	return parse_num(b, 1, INT_MAX, &v) ? -1 : (pid_t)v;
}

static int listen_unix(const char *path, int backlog)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	snprintf(a.sun_path, sizeof a.sun_path, "%s", path);
	unlink(path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -1;
	mode_t old = umask(0177); /* socket file mode 0600 */
	int r = bind(fd, (struct sockaddr *)&a, sizeof a);
	umask(old);
	if (r < 0 || listen(fd, backlog) < 0) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

/* Receive the pty master the runtime sends over the console socket. */
static int recv_fd(int s)
{
	char b[256];
	struct iovec iov = { b, sizeof b };
	union {
		struct cmsghdr h;
		char c[CMSG_SPACE(sizeof(int))];
	} u;
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.c,
			    .msg_controllen = sizeof u.c };
	int fd;
	if (recvmsg(s, &m, MSG_CMSG_CLOEXEC) < 0)
		return -1;
	struct cmsghdr *c = CMSG_FIRSTHDR(&m);
	if (!c || c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
		return -1;
	memcpy(&fd, CMSG_DATA(c), sizeof fd);
	return fd;
}

/* Has the runtime process exited?  (without reaping it) */
static int rt_exited(pid_t pid)
{
	siginfo_t si = { 0 };
	return waitid(P_PID, pid, &si, WEXITED | WNOHANG | WNOWAIT) == 0 && si.si_pid == pid;
}

/*
 * Run a runtime command (create, or exec --detach) whose process is the one we
 * supervise: its stdio are the container's pipes, or with --tty we receive the
 * pty master on console.sock.  On success the parent ends are left in
 * out_fd/err_fd/in_fd/pty.  Returns the runtime's wait status.
 */
static int launch(const char **args)
{
	int pi[2] = { -1, -1 }, po[2] = { -1, -1 }, pe[2] = { -1, -1 }, cs = -1, st;
	pid_t pid;

	if (o.tty) {
		if ((cs = listen_unix(p_console, 1)) < 0) {
			logmsg("console socket: %s", strerror(errno));
			return -1;
		}
		pid = rt_spawn(args, devnull, devnull, devnull);
	} else {
		if ((o.stdin_ && pipe2(pi, O_CLOEXEC) < 0) || pipe2(po, O_CLOEXEC) < 0 ||
		    pipe2(pe, O_CLOEXEC) < 0) {
			logmsg("pipe: %s", strerror(errno));
			st = -1;
			goto fail;
		}
		pid = rt_spawn(args, o.stdin_ ? pi[0] : devnull, po[1], pe[1]);
		close_fd(&pi[0]);
		close_fd(&po[1]);
		close_fd(&pe[1]);
	}

	if (o.tty && pid > 0) {
		/* Wait for the connection, but give up when the runtime exits
		 * without making one (it failed).  A connection made just before
		 * exiting is still in the backlog, hence the final 0-timeout poll. */
		struct pollfd pf = { cs, POLLIN, 0 };
		for (;;) {
			int done = rt_exited(pid);
			if (poll(&pf, 1, done ? 0 : 50) > 0) {
				int c = accept4(cs, NULL, NULL, SOCK_CLOEXEC);
				if (c >= 0) {
					pty = recv_fd(c);
					close(c);
				}
				break;
			}
			if (done)
				break;
		}
	}
	st = rt_wait(pid);
	if (o.tty) {
		close(cs);
		unlink(p_console);
		if (st == 0 && pty < 0) {
			logmsg("runtime did not send a console");
			st = -1;
		}
	}
	if (st != 0)
		goto fail;
	if (o.tty) {
		set_nonblock(pty);
		out_fd = fcntl(pty, F_DUPFD_CLOEXEC, 3);
		in_fd = fcntl(pty, F_DUPFD_CLOEXEC, 3);
	} else {
		out_fd = po[0];
		err_fd = pe[0];
		in_fd = pi[1];
		set_nonblock(out_fd);
		set_nonblock(err_fd);
		if (in_fd >= 0)
			set_nonblock(in_fd);
	}
	return 0;
fail:
	for (int i = 0; i < 2; i++) {
		close_fd(&pi[i]);
		close_fd(&po[i]);
		close_fd(&pe[i]);
	}
	close_fd(&pty);
	return st;
}

/* ----------------------------------------------------------------- clients */

static void stdin_pump(void)
{
	if (in_fd < 0)
		return; /* exec mode before start: input waits in inq */
	if (buf_flush(&inq, in_fd) < 0 || (stdin_eof && !buf_used(&inq))) {
		close_fd(&in_fd); /* EPIPE: the container closed its stdin */
		buf_free(&inq);
		stdin_eof = 1;
	}
}

static void stdin_close(void)
{
	stdin_eof = 1;
	stdin_pump();
}

static void stdin_feed(const char *p, size_t n)
{
	/* no stdin, or it was closed: input is ignored; an exec not yet started buffers it */
	if (stdin_eof || (in_fd < 0 && (started || !o.exec_proc || !(o.stdin_ || o.tty))))
		return;
	buf_add(&inq, p, n);
	stdin_pump();
}

static void drop(struct conn *c)
{
	if (c->dead)
		return;
	/* a stdin client going away counts as its stdin ending */
	if (c->kind == C_ATTACH && c->w_in && c->in_open && o.stdin_once && !o.tty)
		stdin_close();
	c->dead = 1;
}

static int reply(struct conn *c, const char *fmt, ...)
{
	char b[1200];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(b, sizeof b, fmt, ap);
	va_end(ap);
	if (n >= (int)sizeof b) {
		n = sizeof b;
		b[n - 1] = '\n';
	}
	write_all(c->fd, b, n); /* small: fits the empty socket buffer */
	c->dead = 1;
	return 0;
}

static void finalize(void);

/* A failed start ends the shim as if the process had exited. */
static void start_failed(const char *msg)
{
	started = exited = 1;
	if (strcasestr(msg, "not found") || strcasestr(msg, "no such file"))
		exit_code = 127;
	else if (strcasestr(msg, "permission denied") || strcasestr(msg, "is a directory") ||
		 strcasestr(msg, "exec format error"))
		exit_code = 126;
	else
		exit_code = 128;
	clock_gettime(CLOCK_REALTIME, &exited_at);
	close_fd(&out_fd); /* whatever is in the pipes came from the runtime */
	close_fd(&err_fd);
	finalize();
}

static void drain_discard(int fd)
{
	while (fd >= 0 && read(fd, rbuf, sizeof rbuf) > 0)
		;
}

static void do_start(struct conn *c)
{
	char msg[1024];
	int st;
	if (started || exited) {
		reply(c, "err already started\n");
		return;
	}
	off_t off = file_size(p_rlog);
	if (o.exec_proc) {
		const char *a[] = { "exec", "--detach", "--pid-file", p_pidf, "--process", o.exec_proc,
				    o.id, NULL, NULL, NULL, NULL };
		if (o.tty) {
			a[6] = "--tty";
			a[7] = "--console-socket";
			a[8] = p_console;
			a[9] = o.id;
		}
		started = 1;
		unlink(p_pidf);
		st = launch(a);
		if (st == 0 && (cpid = read_pid()) < 0)
			st = -1;
	} else {
		const char *a[] = { "start", o.id, NULL };
		/* anything in the pipes now was written by the runtime, not the container */
		drain_discard(out_fd);
		drain_discard(err_fd);
		st = rt_wait(rt_spawn(a, devnull, devnull, devnull));
	}
	if (!rt_exe_shared)
		close_fd(&rt_exe);
	if (st == 0) {
		started = 1;
		stdin_pump(); /* input (and an EOF) that arrived before the exec started */
		reply(c, "ok %d\n", (int)cpid);
		return;
	}
	rt_error(off, st, msg, sizeof msg);
	for (char *p = msg; *p; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';
	logmsg("start failed: %s", msg);
	reply(c, "err %s\n", msg);
	start_failed(msg);
}

static int handle(struct conn *c, char *line, const char *rest, size_t nrest)
{
	long long a, b;
	char *arg = strchr(line, ' ');
	if (arg)
		*arg++ = 0;

	if (!strcmp(line, "start") && !arg) {
		do_start(c);
	} else if (!strcmp(line, "attach") && arg) {
		for (char *p = arg; *p; p++) {
			if (*p == 'i') c->w_in = 1;
			else if (*p == 'o') c->w_out = 1;
			else if (*p == 'e') c->w_err = 1;
			else return reply(c, "err invalid attach flags\n");
		}
		if (!*arg)
			return reply(c, "err invalid attach flags\n");
		c->kind = C_ATTACH;
		c->in_open = 1;
		/* Acknowledge registration, so a client can order "attach, then start". */
		write_all(c->fd, "ok\n", 3);
		if (nrest && c->w_in)
			stdin_feed(rest, nrest);
	} else if (!strcmp(line, "wait") && !arg) {
		if (finalized)
			reply(c, "%s\n", exit_json);
		else
			c->kind = C_WAIT;
	} else if (!strcmp(line, "resize") && arg) {
		char *cols = strchr(arg, ' ');
		if (cols)
			*cols++ = 0;
		if (!cols || parse_num(arg, 1, 65535, &a) || parse_num(cols, 1, 65535, &b))
			return reply(c, "err invalid size\n");
		if (pty < 0)
			return reply(c, "err no tty\n");
		struct winsize ws = { .ws_row = a, .ws_col = b };
		if (ioctl(pty, TIOCSWINSZ, &ws) < 0)
			return reply(c, "err %s\n", strerror(errno));
		reply(c, "ok\n");
	} else if (!strcmp(line, "kill") && arg) {
		if (parse_num(arg, 1, 64, &a))
			return reply(c, "err invalid signal\n");
		if (!started)
			return reply(c, "err not started\n");
		if (exited)
			return reply(c, "err %s\n", strerror(ESRCH));
		if (kill(cpid, a) < 0)
			return reply(c, "err %s\n", strerror(errno));
		reply(c, "ok\n");
	} else if (!strcmp(line, "dns") && !arg) {
		if (dns_fd < 0)
			return reply(c, "err no dns relay\n");
		if (dns_conn && dns_conn != c)
			drop(dns_conn); /* a restarted berthd takes over */
		c->kind = C_DNS;
		dns_conn = c;
		dns_inlen = 0;
		dprintf(c->fd, "ok %d\n", dns_port);
	} else if (!strcmp(line, "closestdin") && !arg) {
		stdin_close();
		reply(c, "ok\n");
	} else {
		reply(c, "err unknown request\n");
	}
	return 0;
}

static void conn_read(struct conn *c)
{
	if (c->kind == C_REQ) {
		ssize_t r = read(c->fd, c->req + c->rlen, sizeof c->req - c->rlen);
		if (r < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		if (r <= 0) {
			drop(c);
			return;
		}
		c->rlen += r;
		char *nl = memchr(c->req, '\n', c->rlen);
		if (!nl) {
			if (c->rlen == sizeof c->req)
				reply(c, "err request too long\n");
			return;
		}
		*nl = 0;
		if (nl > c->req && nl[-1] == '\r')
			nl[-1] = 0;
		/* bytes after the line are already stdin data of an attach */
		handle(c, c->req, nl + 1, c->req + c->rlen - (nl + 1));
		return;
	}
	if (c->kind == C_DNS) {
		dns_answers(c);
		return;
	}
	ssize_t r = read(c->fd, rbuf, sizeof rbuf);
	if (r > 0) {
		if (c->kind == C_ATTACH && c->w_in)
			stdin_feed(rbuf, r);
	} else if (r == 0) { /* half-close: keep sending output */
		if (c->kind == C_ATTACH && c->w_in && o.stdin_once && !o.tty)
			stdin_close();
		c->in_open = 0;
	} else if (errno != EAGAIN && errno != EINTR) {
		drop(c);
	}
}

static void accept_conns(void)
{
	for (;;) {
		int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0)
			return;
		struct conn *c = calloc(1, sizeof *c), **n = realloc(conns, (nconns + 1) * sizeof *n);
		if (n)
			conns = n;
		if (!c || !n) {
			free(c);
			close(fd);
			return;
		}
		c->fd = fd;
		c->kind = C_REQ;
		c->in_open = 1;
		conns[nconns++] = c;
	}
}

static void sweep(void)
{
	size_t j = 0;
	for (size_t i = 0; i < nconns; i++) {
		struct conn *c = conns[i];
		if (c->dead) {
			if (c == dns_conn)
				dns_conn = NULL;
			/* unread input would make the close an ECONNRESET for the peer */
			for (int k = 0; k < 16 && read(c->fd, rbuf, sizeof rbuf) > 0; k++)
				;
			close(c->fd);
			buf_free(&c->q);
			free(c);
		} else {
			conns[j++] = c;
		}
	}
	nconns = j;
}

/* ------------------------------------------------------------------ output */

/* A chunk of container output on stream s (0 stdout, 1 stderr). */
static void on_output(int s, const char *p, size_t n)
{
	if (!started)
		return; /* before start only the runtime writes here */
	if (lg.fd >= 0 || o.syslog_head || o.gelf_head || o.fl_addr || o.journald_fields) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		fmt_time(lg.ts, &ts);
		lg_now = ts;
		log_data(s, p, n);
	}
	unsigned char h[8] = { s + 1, 0, 0, 0, n >> 24, n >> 16, n >> 8, n };
	for (size_t i = 0; i < nconns; i++) {
		struct conn *c = conns[i];
		if (c->kind != C_ATTACH || c->dead || !(s ? c->w_err : c->w_out))
			continue;
		if ((!o.tty && buf_add(&c->q, h, 8) < 0) || buf_add(&c->q, p, n) < 0 ||
		    buf_flush(&c->q, c->fd) < 0)
			drop(c);
	}
}

static void read_output(int *fd, int s)
{
	ssize_t r = read(*fd, rbuf, sizeof rbuf);
	if (r > 0) {
		on_output(s, rbuf, r);
		return;
	}
	if (r < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	/* EOF, or EIO on a pty whose slave side is all closed */
	if (started)
		log_eof(s);
	close_fd(fd);
}

/* -------------------------------------------------------------------- exit */

static void reap(void)
{
	struct signalfd_siginfo si;
	int st;
	pid_t p;
	while (read(sfd, &si, sizeof si) > 0)
		;
	while ((p = waitpid(-1, &st, WNOHANG)) > 0) {
		if (p != cpid || exited || !cpid)
			continue; /* an orphan reparented to us, or a runtime helper */
		exited = 1;
		exit_code = WIFSIGNALED(st) ? 128 + WTERMSIG(st) : WEXITSTATUS(st);
		clock_gettime(CLOCK_REALTIME, &exited_at);
		drain_until = now_ms() + DRAIN_MS;
	}
}

static int read_oom(void)
{
	char b[4096];
	if (!o.oom_file)
		return 0;
	int fd = open(o.oom_file, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	ssize_t n = read(fd, b, sizeof b - 1);
	close(fd);
	if (n <= 0)
		return 0;
	b[n] = 0;
	for (char *l = b; l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL)
		if (!strncmp(l, "oom_kill ", 9))
			return atoll(l + 9) > 0;
	return 0;
}

static void write_exit_json(void)
{
	char t[48];
	fmt_time(t, &exited_at);
	snprintf(exit_json, sizeof exit_json, "{\"exitCode\":%d,\"exitedAt\":\"%s\",\"oomKilled\":%s}",
		 exit_code, t, oom_killed ? "true" : "false");
	int fd = open(p_exit_tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || write_all(fd, exit_json, strlen(exit_json)) < 0 ||
	    write_all(fd, "\n", 1) < 0 || fsync(fd) < 0 || rename(p_exit_tmp, p_exit) < 0)
		logmsg("write %s: %s", p_exit, strerror(errno));
	if (fd >= 0)
		close(fd);
	if ((fd = open(o.sdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0) {
		fsync(fd);
		close(fd);
	}
}

/* The process has exited and its output is drained: record it. */
static void finalize(void)
{
	close_fd(&out_fd);
	close_fd(&err_fd);
	if (started) {
		log_eof(0);
		log_eof(1);
	}
	log_flush();
	close_fd(&in_fd);
	buf_free(&inq);
	close_fd(&pty);
	oom_killed = read_oom(); /* before delete removes the cgroup */
	if (!o.exec_proc)
		rt_delete();
	unmount_all();
	write_exit_json();
	logmsg("exited: %s", exit_json);
	finalized = 1;
	close_until = now_ms() + CLOSE_MS;
	for (size_t i = 0; i < nconns; i++)
		if (conns[i]->kind == C_WAIT && !conns[i]->dead)
			reply(conns[i], "%s\n", exit_json);
}

/* -------------------------------------------------------------- main loop */

static void dns_open(void)
{
	if (!o.dns_netns)
		return;
	int self = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	int target = open(o.dns_netns, O_RDONLY | O_CLOEXEC);
	if (self < 0 || target < 0 || setns(target, CLONE_NEWNET) < 0) {
		logmsg("dns relay: cannot enter %s: %s", o.dns_netns, strerror(errno));
		goto out;
	}
	dns_fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = 0, .sin_addr.s_addr = htonl(0x7f00000b) };
	socklen_t al = sizeof a;
	if (dns_fd < 0 || bind(dns_fd, (struct sockaddr *)&a, sizeof a) < 0 || getsockname(dns_fd, (struct sockaddr *)&a, &al) < 0) {
		logmsg("dns relay: cannot bind 127.0.0.11: %s", strerror(errno));
		close_fd(&dns_fd);
	} else {
		dns_port = ntohs(a.sin_port);
	}
	if (setns(self, CLONE_NEWNET) < 0) {
		/* the monitor must not stay in the container's namespace */
		logmsg("dns relay: cannot return to the host's network namespace: %s", strerror(errno));
		exit(1);
	}
out:
	if (self >= 0)
		close(self);
	if (target >= 0)
		close(target);
}

/* Queries from the container go to berthd's relay connection (dropped without one: the resolver asks again). */
static void dns_read(void)
{
	unsigned char m[2 + 6 + 4096];
	for (;;) {
		struct sockaddr_in from;
		socklen_t fl = sizeof from;
		ssize_t n = recvfrom(dns_fd, m + 8, sizeof m - 8, 0, (struct sockaddr *)&from, &fl);
		if (n < 0)
			return;
		if (!dns_conn || dns_conn->dead || buf_used(&dns_conn->q) > (1 << 20))
			continue;
		m[0] = (n + 6) >> 8, m[1] = (n + 6) & 0xff;
		memcpy(m + 2, &from.sin_addr.s_addr, 4);
		memcpy(m + 6, &from.sin_port, 2);
		buf_add(&dns_conn->q, m, n + 8);
	}
}

/* Answers from berthd, each sent back to the container's resolver that asked. */
static void dns_answers(struct conn *c)
{
	ssize_t r = read(c->fd, dns_in + dns_inlen, sizeof dns_in - dns_inlen);
	if (r < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (r <= 0) {
		drop(c);
		return;
	}
	dns_inlen += r;
	for (;;) {
		if (dns_inlen < 2)
			return;
		size_t len = (size_t)dns_in[0] << 8 | dns_in[1];
		if (len < 6) {
			drop(c);
			return;
		}
		if (dns_inlen < 2 + len)
			return;
		struct sockaddr_in to = { .sin_family = AF_INET };
		memcpy(&to.sin_addr.s_addr, dns_in + 2, 4);
		memcpy(&to.sin_port, dns_in + 6, 2);
		if (dns_fd >= 0)
			sendto(dns_fd, dns_in + 8, len - 6, 0, (struct sockaddr *)&to, sizeof to);
		memmove(dns_in, dns_in + 2 + len, dns_inlen - 2 - len);
		dns_inlen -= 2 + len;
	}
}

static void serve(void)
{
	struct pollfd *pf = NULL;
	for (;;) {
		int64_t now = now_ms();
		if (exited && !finalized && ((out_fd < 0 && err_fd < 0) || now >= drain_until))
			finalize();
		if (finalized) {
			size_t pending = 0;
			for (size_t i = 0; i < nconns; i++)
				if (conns[i]->kind == C_ATTACH && !conns[i]->dead)
					pending += buf_used(&conns[i]->q);
			pending += fl.count; /* fluentd events still to send */
			if (!pending || now >= close_until)
				break;
		}
		log_flush(); /* before sleeping: the log is never behind */

		/* back-pressure: one slow attach client stops us reading output */
		size_t maxq = 0;
		for (size_t i = 0; i < nconns; i++)
			if (conns[i]->kind == C_ATTACH && !conns[i]->dead && buf_used(&conns[i]->q) > maxq)
				maxq = buf_used(&conns[i]->q);
		if (exited || (paused && maxq < Q_LOW))
			paused = 0; /* after exit, drain everything regardless */
		else if (maxq > Q_HIGH)
			paused = 1;

		struct pollfd *npf = realloc(pf, (nconns + 8) * sizeof *pf);
		if (!npf) {
			logmsg("out of memory");
			sleep(1);
			continue;
		}
		pf = npf;
		int n = 0, i_out = -1, i_err = -1, i_in = -1, i_fl = -1, i_dns = -1;
		pf[n++] = (struct pollfd){ sfd, POLLIN, 0 };
		pf[n++] = (struct pollfd){ lfd, POLLIN, 0 };
		if (dns_fd >= 0)
			i_dns = n, pf[n++] = (struct pollfd){ dns_fd, POLLIN, 0 };
		if (fl.awaiting && fl.fd >= 0)
			i_fl = n, pf[n++] = (struct pollfd){ fl.fd, POLLIN, 0 };
		if (out_fd >= 0 && !paused)
			i_out = n, pf[n++] = (struct pollfd){ out_fd, POLLIN, 0 };
		if (err_fd >= 0 && !paused)
			i_err = n, pf[n++] = (struct pollfd){ err_fd, POLLIN, 0 };
		if (in_fd >= 0 && buf_used(&inq))
			i_in = n, pf[n++] = (struct pollfd){ in_fd, POLLOUT, 0 };
		int base = n;
		size_t nc = nconns;
		for (size_t i = 0; i < nc; i++) {
			struct conn *c = conns[i];
			short ev = 0;
			/* a stdin client is not read while its previous input is pending */
			if (c->in_open && !(c->kind == C_ATTACH && c->w_in && buf_used(&inq)))
				ev |= POLLIN;
			if (buf_used(&c->q))
				ev |= POLLOUT;
			pf[n++] = (struct pollfd){ c->fd, ev, 0 };
		}

		int timeout = -1;
		if (exited && !finalized)
			timeout = drain_until > now ? drain_until - now : 0;
		else if (finalized)
			timeout = close_until > now ? close_until - now : 0;
		if (gl.retry_at) {
			int t = gl.retry_at > now ? (int)(gl.retry_at - now) : 0;
			if (timeout < 0 || t < timeout)
				timeout = t;
		}
		int64_t flt = fl_timer();
		if (flt >= 0) {
			int t = flt > now ? (int)(flt - now) : 0;
			if (timeout < 0 || t < timeout)
				timeout = t;
		}
		if (poll(pf, n, timeout) < 0) {
			if (errno != EINTR)
				logmsg("poll: %s", strerror(errno));
			continue;
		}

		if (gl.retry_at && now_ms() >= gl.retry_at)
			gelf_retry();
		if (i_fl >= 0 && pf[i_fl].revents)
			fl_read_ack();
		flt = fl_timer();
		if (flt >= 0 && now_ms() >= flt)
			fl_tick();
		if (pf[0].revents)
			reap();
		if (i_out >= 0 && pf[i_out].revents)
			read_output(&out_fd, 0);
		if (i_err >= 0 && pf[i_err].revents && err_fd >= 0)
			read_output(&err_fd, 1);
		if (i_in >= 0 && pf[i_in].revents)
			stdin_pump();
		if (i_dns >= 0 && pf[i_dns].revents)
			dns_read();
		for (size_t i = 0; i < nc; i++) {
			struct conn *c = conns[i];
			short re = pf[base + i].revents;
			if (c->dead || !re)
				continue;
			if (re & POLLIN)
				conn_read(c);
			if (!c->dead && (re & POLLOUT) && buf_flush(&c->q, c->fd) < 0)
				drop(c);
			if (!c->dead && (re & (POLLHUP | POLLERR)) && !(re & POLLIN))
				drop(c);
			if (!c->dead && (re & POLLHUP) && !c->in_open)
				drop(c); /* half-closed earlier, now fully gone */
		}
		if (pf[1].revents)
			accept_conns();
		sweep();
	}
	/* answer requests that arrived while we were finishing (wait, mostly);
	 * later clients find no socket and read exit.json instead */
	unlink(p_sock);
	accept_conns();
	for (size_t i = 0; i < nconns; i++)
		if (conns[i]->kind == C_REQ && !conns[i]->dead)
			conn_read(conns[i]);
	for (size_t i = 0; i < nconns; i++)
		conns[i]->dead = 1;
	sweep();
	close(lfd);
	exit(0);
}

/* ------------------------------------------------------------------ start-up */

static void usage_error(const char *fmt, const char *arg)
{
	fprintf(stderr, "berth-shim: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\n");
	exit(2);
}

static void parse_args(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		char *a = argv[i], *v = NULL, *eq;
		const struct opt *op = NULL;
		if (strncmp(a, "--", 2))
			usage_error("unexpected argument: %s", a);
		a += 2;
		if ((eq = strchr(a, '='))) {
			*eq = 0;
			v = eq + 1;
		}
		for (size_t k = 0; k < sizeof opts / sizeof *opts; k++)
			if (!strcmp(a, opts[k].name))
				op = &opts[k];
		if (!op)
			usage_error("unknown option: --%s", a);
		if (op->flag) {
			if (v)
				usage_error("option --%s takes no value", a);
			*op->flag = 1;
			continue;
		}
		if (!v && i + 1 >= argc)
			usage_error("option --%s needs a value", a);
		*op->str = v ? v : argv[++i];
	}
	const struct opt *req = opts;
	for (int k = 0; k < 5; k++, req++) /* the first five are required */
		if (!*req->str || !**req->str)
			usage_error("missing required option --%s", req->name);
	long long v;
	o.log_max_file = 1;
	if (o.max_size && parse_num(o.max_size, 0, LLONG_MAX, &o.log_max_size))
		usage_error("invalid --log-max-size: %s", o.max_size);
	if (o.max_file && parse_num(o.max_file, 1, 1000000, &v))
		usage_error("invalid --log-max-file: %s", o.max_file);
	if (o.max_file)
		o.log_max_file = v;
	if ((o.max_size || o.max_file) && !o.log_path)
		usage_error("%s needs --log-path", "--log-max-size/--log-max-file");
	if (!o.ov_target != !o.ov_data || (o.ov_cwd && !o.ov_target))
		usage_error("%s", "--overlay-target and --overlay-data go together (--overlay-cwd needs them)");
	if (o.ov_target && o.exec_proc)
		usage_error("%s", "--overlay-target does not go with --exec-process");
	if (o.stdin_once && !o.stdin_ && !o.tty)
		usage_error("%s", "--stdin-once needs --stdin");
}

/* Make a path argument absolute: the monitor runs in "/". */
static void absolutize(char **p)
{
	static char cwd[PATH_MAX];
	if (!*p || **p == '/')
		return;
	if (!cwd[0] && !getcwd(cwd, sizeof cwd))
		usage_error("getcwd: %s", strerror(errno));
	char *s = malloc(strlen(cwd) + strlen(*p) + 2);
	if (!s)
		usage_error("%s", "out of memory");
	sprintf(s, "%s/%s", cwd, *p);
	*p = s;
}

static void state_path(char *dst, const char *name, size_t max)
{
	if ((size_t)snprintf(dst, max, "%s/%s", o.sdir, name) >= max)
		usage_error("state dir path too long: %s", o.sdir);
}

/* The ready report: one JSON line on the pipe to the parent. */
static void report(const char *err, pid_t pid)
{
	char b[4096], e[6 * 600 + 1];
	if (err) {
		size_t n = strlen(err);
		e[jesc(e, err, n > 600 ? 600 : n)] = 0;
		snprintf(b, sizeof b, "{\"ok\":false,\"error\":\"%s\"}\n", e);
	} else {
		snprintf(b, sizeof b, "{\"ok\":true,\"pid\":%d}\n", (int)pid);
	}
	if (err) { /* leave nothing behind before berthd hears about it */
		logmsg("%s", err);
		unmount_all();
		unlink(p_sock);
		unlink(p_console);
	}
	write_all(REPORT_FD, b, strlen(b));
	close(REPORT_FD);
	if (err)
		exit(1);
}

/* P: relay the child's report line to stdout; never wait for the container. */
static int parent(int rfd)
{
	char b[8192];
	size_t n = 0;
	ssize_t r;
	while (n < sizeof b - 1 && (r = read(rfd, b + n, sizeof b - 1 - n)) != 0) {
		if (r < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		n += r;
		if (memchr(b, '\n', n))
			break;
	}
	if (!n || !memchr(b, '\n', n)) {
		const char *m = "{\"ok\":false,\"error\":\"shim exited before reporting\"}\n";
		write_all(1, m, strlen(m));
		return 1;
	}
	n = (char *)memchr(b, '\n', n) - b + 1;
	write_all(1, b, n);
	return strncmp(b, "{\"ok\":true", 10) ? 1 : 0;
}

/* The overlay root and a shareable /dev/shm, lazily, so a joined container keeps its view. */
static void unmount_all(void)
{
	if (mounted && umount2(o.ov_target, MNT_DETACH) < 0)
		logmsg("umount %s: %s", o.ov_target, strerror(errno));
	mounted = 0;
	if (shm_mounted && umount2(o.shm_path, MNT_DETACH) < 0)
		logmsg("umount %s: %s", o.shm_path, strerror(errno));
	shm_mounted = 0;
}

/*
 * What runc does and crun 1.8 does not: read-only paths keep the nosuid, nodev and noexec of
 * the mount they sit on (/proc), and /dev/core is no link to a /proc/kcore that is not there.
 * Done in a child that joins the created container's mount namespace, before it starts.
 */
static int harden(pid_t pid)
{
	char ns[64], root[64];
	snprintf(ns, sizeof ns, "/proc/%d/ns/mnt", (int)pid);
	snprintf(root, sizeof root, "/proc/%d/root", (int)pid);
	pid_t c = fork();
	if (c < 0)
		return -1;
	if (c == 0) {
		int nfd = open(ns, O_RDONLY | O_CLOEXEC);
		int rfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (nfd < 0 || rfd < 0 || setns(nfd, CLONE_NEWNS) < 0 || fchdir(rfd) < 0 || chroot(".") < 0)
			_exit(1);
		int bad = 0;
		for (char *p = strtok(o.ro_paths, ":"); p; p = strtok(NULL, ":")) {
			struct statvfs v;
			const char *rel = p + (*p == '/');
			if (statvfs(rel, &v) < 0 || !(v.f_flag & ST_RDONLY))
				continue; /* not there, or not made read-only: nothing to keep */
			unsigned long want = ST_NOSUID | ST_NODEV | ST_NOEXEC;
			if ((v.f_flag & want) == want)
				continue;
			if (mount(NULL, rel, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
				bad = 1;
		}
		struct stat st;
		char link[32];
		ssize_t n = readlink("dev/core", link, sizeof link - 1);
		if (n > 0 && stat("dev/core", &st) < 0 && errno == ENOENT)
			unlink("dev/core");
		_exit(bad);
	}
	int st;
	while (waitpid(c, &st, 0) < 0 && errno == EINTR)
		;
	return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

static void container_create(void)
{
	char msg[PATH_MAX + 1024];
	if (o.ov_target) {
		if (o.ov_cwd && chdir(o.ov_cwd) < 0) {
			snprintf(msg, sizeof msg, "chdir %s: %s", o.ov_cwd, strerror(errno));
			report(msg, 0);
		}
		int r = mount("overlay", o.ov_target, "overlay", 0, o.ov_data);
		int e = errno;
		if (chdir("/") < 0) { /* cannot fail */ }
		if (r < 0) {
			snprintf(msg, sizeof msg, "mount overlay on %s: %s", o.ov_target, strerror(e));
			report(msg, 0);
		}
		mounted = 1;
	}
	if (o.shm_path) { /* --ipc shareable: a /dev/shm others can join, on the host side */
		char data[64];
		snprintf(data, sizeof data, "mode=1777,size=%s", o.shm_size ? o.shm_size : "65536k");
		if (mount("shm", o.shm_path, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, data) < 0) {
			snprintf(msg, sizeof msg, "mount shm on %s: %s", o.shm_path, strerror(errno));
			report(msg, 0);
		}
		shm_mounted = 1;
	}
	const char *a[] = { "create", "--bundle", o.bundle, "--pid-file", p_pidf, o.id, NULL, NULL, NULL };
	if (o.tty) {
		a[5] = "--console-socket";
		a[6] = p_console;
		a[7] = o.id;
	}
	off_t off = file_size(p_rlog);
	unlink(p_pidf);
	int st = launch(a);
	if (st == 0 && (cpid = read_pid()) > 0) {
		if (o.ro_paths && harden(cpid) < 0)
			logmsg("could not harden the read-only paths of %s", o.id);
		report(NULL, cpid);
		return;
	}
	if (st == 0)
		snprintf(msg, sizeof msg, "cannot read pid file %s", p_pidf);
	else
		rt_error(off, st, msg, sizeof msg);
	close_fd(&out_fd);
	close_fd(&err_fd);
	close_fd(&in_fd);
	close_fd(&pty);
	rt_delete(); /* in case the runtime left a half-created container */
	report(msg, 0);
}

int main(int argc, char **argv)
{
	int fd, rp[2];
	char msg[PATH_MAX + 64];

	parse_args(argc, argv);
	/*
	 * The container's OOM score, set here so that the runtime and the container inherit it
	 * rather than berthd's (crun 1.8 writes no oomScoreAdj of 0).
	 */
	if (o.oom_adj) {
		int ofd = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
		if (ofd < 0 || write(ofd, o.oom_adj, strlen(o.oom_adj)) < 0)
			fprintf(stderr, "berth-shim: cannot set oom_score_adj %s: %s\n", o.oom_adj, strerror(errno));
		if (ofd >= 0)
			close(ofd);
	}
	/* make sure 0-2 are taken so our own fds never land there */
	while ((fd = open("/dev/null", O_RDWR)) >= 0 && fd <= 2)
		;
	if (fd > 2)
		close(fd);
	char **paths[] = { &o.bundle, &o.rroot, &o.sdir, &o.log_path, &o.exec_proc, &o.ov_target,
			   &o.ov_cwd, &o.oom_file, &o.dns_netns };
	for (size_t i = 0; i < sizeof paths / sizeof *paths; i++)
		absolutize(paths[i]);
	if (strchr(o.runtime, '/'))
		absolutize(&o.runtime);
	state_path(p_sock, "attach.sock", sizeof((struct sockaddr_un *)0)->sun_path);
	state_path(p_console, "console.sock", sizeof((struct sockaddr_un *)0)->sun_path);
	state_path(p_pidf, "pid", sizeof p_pidf);
	state_path(p_rlog, "runtime.log", sizeof p_rlog);
	state_path(p_exit, "exit.json", sizeof p_exit);
	state_path(p_exit_tmp, "exit.json.tmp", sizeof p_exit_tmp);

	if (pipe2(rp, O_CLOEXEC) < 0) {
		printf("{\"ok\":false,\"error\":\"pipe failed\"}\n");
		return 1;
	}
	pid_t pid = fork();
	if (pid < 0) {
		printf("{\"ok\":false,\"error\":\"fork failed\"}\n");
		return 1;
	}
	if (pid > 0) {
		close(rp[1]);
		return parent(rp[0]);
	}

	/* C: the monitor */
	close(rp[0]);
	/* a fixed threshold keeps big client queues in mmap()ed chunks, which
	 * free() returns to the kernel: RSS goes back down after a burst */
	mallopt(M_MMAP_THRESHOLD, 64 * 1024);
	mallopt(M_TRIM_THRESHOLD, 128 * 1024);
	setsid();
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	if (chdir("/") < 0) { /* cannot fail */ }
	snprintf(msg, sizeof msg, "%s/shim.log", o.sdir);
	fd = open(msg, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
	int nul = open("/dev/null", O_RDWR);
	if (nul >= 0)
		dup2(nul, 0);
	dup2(fd >= 0 ? fd : nul, 1);
	dup2(fd >= 0 ? fd : nul, 2);
	if (rp[1] != REPORT_FD) {
		dup2(rp[1], REPORT_FD);
		fcntl(REPORT_FD, F_SETFD, FD_CLOEXEC);
	}
	close_range(REPORT_FD + 1, ~0U, 0); /* everything berthd may have leaked */

	signal(SIGPIPE, SIG_IGN);
	signal(SIGTERM, SIG_IGN);
	signal(SIGINT, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	signal(SIGCHLD, SIG_DFL); /* SIG_IGN would auto-reap and hide exit codes */
	sigset_t chld;
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	sigprocmask(SIG_BLOCK, &chld, NULL);
	sfd = signalfd(-1, &chld, SFD_NONBLOCK | SFD_CLOEXEC);
	devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (sfd < 0 || devnull < 0)
		report("cannot set up signalfd", 0);

	snprintf(msg, sizeof msg, "%s/shim.pid", o.sdir);
	if ((fd = open(msg, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)) >= 0) {
		dprintf(fd, "%d\n", (int)getpid());
		close(fd);
	}
	if ((lfd = listen_unix(p_sock, 128)) < 0) {
		snprintf(msg, sizeof msg, "listen on %s: %s", p_sock, strerror(errno));
		report(msg, 0);
	}
	if (o.log_path && log_open() < 0) {
		snprintf(msg, sizeof msg, "open log %s: %s", o.log_path, strerror(errno));
		report(msg, 0);
	}
	if (o.syslog_head && syslog_open() < 0) {
		/* Go's net error, as dockerd's driver reports it: "dial tcp 127.0.0.1:514: connect: connection refused" */
		char low[128];
		snprintf(low, sizeof low, "%s", strerror(errno));
		if (low[0] >= 'A' && low[0] <= 'Z')
			low[0] += 'a' - 'A';
		const char *a = o.syslog_addr && *o.syslog_addr ? o.syslog_addr : "unixgram:/dev/log";
		const char *colon = strchr(a, ':');
		snprintf(msg, sizeof msg, "failed to initialize logging driver: dial %.*s %s: connect: %s", colon ? (int)(colon - a) : 0, a, colon ? colon + 1 : a, low);
		report(msg, 0);
	}
	if (o.gelf_head && gelf_open() < 0) {
		/* moby's words: "gelf: cannot connect to GELF endpoint: ADDR dial tcp ADDR: connect: …" */
		char low[128];
		snprintf(low, sizeof low, "%s", strerror(errno));
		if (low[0] >= 'A' && low[0] <= 'Z')
			low[0] += 'a' - 'A';
		snprintf(msg, sizeof msg, "failed to initialize logging driver: gelf: cannot connect to GELF endpoint: %s dial %s %s: connect: %s",
			 gl.where, gl.tcp ? "tcp" : "udp", gl.where, low);
		report(msg, 0);
	}
	if (o.journald_fields && jd_open() < 0) {
		snprintf(msg, sizeof msg, "failed to initialize logging driver: journald is not enabled on this host");
		report(msg, 0);
	}
	if (o.fl_addr && fl_open() < 0) {
		/* fluent-logger's dial error, as dockerd reports it: "dial tcp 127.0.0.1:24224: connect: connection refused" */
		int e = errno;
		char low[128];
		snprintf(low, sizeof low, "%s", e == ETIMEDOUT ? "i/o timeout" : strerror(e));
		if (low[0] >= 'A' && low[0] <= 'Z')
			low[0] += 'a' - 'A';
		const char *colon = strchr(fl.where, ':');
		snprintf(msg, sizeof msg, "failed to initialize logging driver: dial %.*s %.1024s: %s%s", colon ? (int)(colon - fl.where) : 0, fl.where,
			 colon ? colon + 1 : fl.where, e == ETIMEDOUT ? "" : "connect: ", low);
		report(msg, 0);
	}
	rt_exe_open();
	dns_open();
	if (o.exec_proc)
		report(NULL, 0);
	else
		container_create();
	serve();
	return 0;
}
