/*
 * What a default container must not be able to do, tried one call at a time: each line is
 * "<probe> <errno>" (0 when the call succeeded). The isolation tests run it in a Berth
 * container and in a dockerd one and compare. Nothing here can harm the host when refused;
 * what could (reboot, module loading with a real image) is called with arguments that fail.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static void report(const char *name, long r)
{
	printf("%s %d\n", name, r < 0 ? errno : 0);
	fflush(stdout);
}

/* Runs a call that would change this process (namespaces) in a child. */
static void in_child(const char *name, long (*fn)(void))
{
	int p[2];
	if (pipe(p) < 0)
		return;
	pid_t c = fork();
	if (c == 0) {
		long r = fn();
		int e = r < 0 ? errno : 0;
		if (write(p[1], &e, sizeof e) < 0)
			_exit(1);
		_exit(0);
	}
	int e = -1;
	if (read(p[0], &e, sizeof e) != sizeof e)
		e = -1;
	waitpid(c, NULL, 0);
	printf("%s %d\n", name, e);
	fflush(stdout);
}

static long do_unshare_user(void) { return unshare(CLONE_NEWUSER); }
static long do_unshare_ns(void) { return unshare(CLONE_NEWNS); }
static long do_unshare_net(void) { return unshare(CLONE_NEWNET); }
static long do_setns(void)
{
	int fd = open("/proc/self/ns/net", O_RDONLY);
	return fd < 0 ? fd : setns(fd, CLONE_NEWNET);
}
static long do_clone_newuser(void)
{
	long r = syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, 0, 0, 0, 0);
	if (r == 0)
		_exit(0);
	if (r > 0)
		waitpid((pid_t)r, NULL, 0);
	return r;
}
static long do_mount(void)
{
	mkdir("/mnt", 0755);
	return mount("tmpfs", "/mnt", "tmpfs", 0, NULL);
}

int main(void)
{
	report("keyctl", syscall(SYS_keyctl, 0 /* KEYCTL_GET_KEYRING_ID */, -4 /* user keyring */, 0));
	report("add_key", syscall(SYS_add_key, "user", "berth-probe", "x", 1, -2 /* process keyring */));
	report("request_key", syscall(SYS_request_key, "user", "berth-probe-missing", NULL, -2));
	in_child("unshare_user", do_unshare_user);
	in_child("unshare_mount", do_unshare_ns);
	in_child("unshare_net", do_unshare_net);
	in_child("setns", do_setns);
	in_child("clone_newuser", do_clone_newuser);
	report("clone3", syscall(SYS_clone3, NULL, 0));
	in_child("mount", do_mount);
	report("bpf", syscall(SYS_bpf, 5 /* BPF_PROG_LOAD */, NULL, 0));
	report("perf_event_open", syscall(SYS_perf_event_open, NULL, 0, -1, -1, 0));
	report("kexec_load", syscall(SYS_kexec_load, 0, 0, NULL, 0));
	report("init_module", syscall(SYS_init_module, NULL, 0, ""));
	report("io_uring_setup", syscall(SYS_io_uring_setup, 1, NULL));
	report("personality_read_implies_exec", syscall(SYS_personality, 0x0400000));
	report("syslog", syscall(SYS_syslog, 10 /* SYSLOG_ACTION_SIZE_BUFFER */, NULL, 0));
	report("acct", syscall(SYS_acct, NULL));
	report("settimeofday", syscall(SYS_settimeofday, NULL, NULL));
	return 0;
}
