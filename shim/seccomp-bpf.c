/*
 * berth-seccomp-bpf: compiles a seccomp profile into the raw BPF program that crun loads
 * from the run.oci.seccomp_bpf_data annotation.
 *
 * Why: crun 1.8 compiles the OCI seccomp section with libseccomp on every container create,
 * ~20 ms of the ~50 ms create here. berthd compiles each distinct profile once with this
 * tool, caches the result, and hands crun the finished filter. The translation follows crun's
 * own (libcrun/seccomp.c): same default-errno rules, rules equal to the default action
 * skipped, unknown syscalls ignored, and several comparisons of one argument split into
 * separate rules.
 *
 * Input (stdin), one directive per line, fields separated by single spaces:
 *   default <ACTION> <errno>
 *   arch <SCMP_ARCH_NAME>
 *   rule <ACTION> <errno> <syscall> [<index> <SCMP_CMP_OP> <value> <valueTwo>]...
 * Output (stdout): the BPF program. Exit 0, or 1 with a message on stderr.
 */
#include <errno.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ctype.h>

static int action_of(const char *name, unsigned errnum, uint32_t *out)
{
	if (!strcmp(name, "SCMP_ACT_ALLOW")) *out = SCMP_ACT_ALLOW;
	else if (!strcmp(name, "SCMP_ACT_ERRNO")) *out = SCMP_ACT_ERRNO(errnum);
	else if (!strcmp(name, "SCMP_ACT_KILL") || !strcmp(name, "SCMP_ACT_KILL_THREAD")) *out = SCMP_ACT_KILL;
	else if (!strcmp(name, "SCMP_ACT_KILL_PROCESS")) *out = SCMP_ACT_KILL_PROCESS;
	else if (!strcmp(name, "SCMP_ACT_TRAP")) *out = SCMP_ACT_TRAP;
	else if (!strcmp(name, "SCMP_ACT_TRACE")) *out = SCMP_ACT_TRACE(errnum);
	else if (!strcmp(name, "SCMP_ACT_LOG")) *out = SCMP_ACT_LOG;
	else return -1;
	return 0;
}

static int op_of(const char *name, enum scmp_compare *out)
{
	static const struct { const char *n; enum scmp_compare op; } ops[] = {
		{ "SCMP_CMP_NE", SCMP_CMP_NE }, { "SCMP_CMP_LT", SCMP_CMP_LT },
		{ "SCMP_CMP_LE", SCMP_CMP_LE }, { "SCMP_CMP_EQ", SCMP_CMP_EQ },
		{ "SCMP_CMP_GE", SCMP_CMP_GE }, { "SCMP_CMP_GT", SCMP_CMP_GT },
		{ "SCMP_CMP_MASKED_EQ", SCMP_CMP_MASKED_EQ },
	};
	for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++)
		if (!strcmp(name, ops[i].n)) {
			*out = ops[i].op;
			return 0;
		}
	return -1;
}

static int fail(int line, const char *what)
{
	fprintf(stderr, "berth-seccomp-bpf: line %d: %s\n", line, what);
	return 1;
}

int main(void)
{
	char buf[4096];
	scmp_filter_ctx ctx = NULL;
	uint32_t def = 0;
	int line = 0, rc;

	while (fgets(buf, sizeof buf, stdin)) {
		line++;
		buf[strcspn(buf, "\n")] = 0;
		char *save = NULL, *kw = strtok_r(buf, " ", &save);
		if (!kw)
			continue;
		if (!strcmp(kw, "default")) {
			char *a = strtok_r(NULL, " ", &save), *e = strtok_r(NULL, " ", &save);
			if (!a || !e || action_of(a, (unsigned)atoi(e), &def))
				return fail(line, "bad default action");
			if (!(ctx = seccomp_init(def)))
				return fail(line, "seccomp_init failed");
		} else if (!ctx) {
			return fail(line, "the default action must come first");
		} else if (!strcmp(kw, "arch")) {
			char *a = strtok_r(NULL, " ", &save), lower[32] = { 0 };
			if (!a)
				return fail(line, "missing architecture");
			if (!strncmp(a, "SCMP_ARCH_", 10))
				a += 10;
			for (size_t i = 0; a[i] && i < sizeof lower - 1; i++)
				lower[i] = (char)tolower((unsigned char)a[i]);
			uint32_t tok = seccomp_arch_resolve_name(lower);
			if (!tok)
				return fail(line, "unknown architecture");
			rc = seccomp_arch_add(ctx, tok);
			if (rc < 0 && rc != -EEXIST)
				return fail(line, "seccomp_arch_add failed");
		} else if (!strcmp(kw, "rule")) {
			char *a = strtok_r(NULL, " ", &save), *e = strtok_r(NULL, " ", &save), *name = strtok_r(NULL, " ", &save);
			uint32_t act;
			if (!a || !e || !name || action_of(a, (unsigned)atoi(e), &act))
				return fail(line, "bad rule");
			if (act == def)
				continue;
			int nr = seccomp_syscall_resolve_name(name);
			if (nr == __NR_SCMP_ERROR)
				continue; /* unknown on this architecture: crun ignores it too */
			struct scmp_arg_cmp cmp[6];
			unsigned n = 0, count[6] = { 0 }, multi = 0;
			char *idx;
			while ((idx = strtok_r(NULL, " ", &save)) && n < 6) {
				char *op = strtok_r(NULL, " ", &save), *v = strtok_r(NULL, " ", &save), *v2 = strtok_r(NULL, " ", &save);
				unsigned i = (unsigned)atoi(idx);
				if (!op || !v || !v2 || i >= 6 || op_of(op, &cmp[n].op))
					return fail(line, "bad argument comparison");
				cmp[n].arg = i;
				cmp[n].datum_a = strtoull(v, NULL, 10);
				cmp[n].datum_b = strtoull(v2, NULL, 10);
				if (++count[i] > 1)
					multi = 1;
				n++;
			}
			if (!multi) {
				rc = seccomp_rule_add_array(ctx, act, nr, n, cmp);
			} else {
				rc = 0;
				for (unsigned r = 0; r < n && rc >= 0; r++)
					rc = seccomp_rule_add_array(ctx, act, nr, 1, &cmp[r]);
			}
			if (rc < 0)
				return fail(line, "seccomp_rule_add failed");
		} else {
			return fail(line, "unknown directive");
		}
	}
	if (!ctx)
		return fail(line, "empty profile");
	rc = seccomp_export_bpf(ctx, 1);
	seccomp_release(ctx);
	if (rc < 0)
		return fail(line, "seccomp_export_bpf failed");
	return 0;
}
