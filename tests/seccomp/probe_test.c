/* probe_test: ulp_seccomp_check against children under real seccomp
   policies, each stopped with PTRACE_SEIZE + PTRACE_INTERRUPT, and the
   kernel's own verdict on the same calls once the child is let go.  Also
   ulp_seccomp_run_filter on programs the kernel must refuse, checked
   against the kernel too.  Exits 1 on any wrong verdict.  Run as root.  */
#include <errno.h>
#include <linux/audit.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "error.h"
#include "seccomp.h"

/* A `syscall` instruction at a known address, for the filter on
   instruction_pointer: getpid through it.  */
__asm__(".text\n"
        ".globl probe_test_raw_getpid\n"
        ".type probe_test_raw_getpid, @function\n"
        "probe_test_raw_getpid:\n"
        "  movl $39, %eax\n"
        ".globl probe_test_getpid_syscall\n"
        "probe_test_getpid_syscall:\n"
        "  syscall\n"
        "  ret\n");
long probe_test_raw_getpid (void);
extern const char probe_test_getpid_syscall[];

#define SYSCALL_IP ((uint64_t)(uintptr_t)probe_test_getpid_syscall)
#define LENGTH(a) (sizeof (a) / sizeof (a)[0])
#define ARG_LOW(i) (offsetof (struct seccomp_data, args) + 8 * (i))
#define IP_LOW offsetof (struct seccomp_data, instruction_pointer)

static int failures;

__attribute__ ((format (printf, 2, 3))) static void
verdict (int ok, const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  printf ("%s ", ok ? "ok  " : "FAIL");
  vprintf (fmt, ap);
  putchar ('\n');
  va_end (ap);
  fflush (stdout);
  if (!ok)
    failures++;
}

/* The probes: harmless arguments, so that the children can run them.  */
static const struct ulp_syscall_probe mmap_probe
    = { SYS_mmap,
        { 0, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
          (uint64_t)-1, 0 } };
static const struct ulp_syscall_probe mprotect_probe
    = { SYS_mprotect, { 0, 0, PROT_READ } };
static const struct ulp_syscall_probe mprotect_exec_probe
    = { SYS_mprotect, { 0, 0, PROT_READ | PROT_EXEC } };
static const struct ulp_syscall_probe prctl_probe
    = { SYS_prctl, { PR_GET_DUMPABLE } };
static const struct ulp_syscall_probe getpid_probe = { SYS_getpid, { 0 } };

/* Filters, installed by the children.  */

static void
install (const struct sock_filter *code, size_t len)
{
  struct sock_fprog prog = { (unsigned short)len, (struct sock_filter *)code };
  if (prctl (PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0
      || syscall (SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) != 0) {
    perror ("seccomp");
    _exit (100);
  }
}

struct rule
{
  int nr;
  uint32_t action;
};

/* Kills the process on another arch, RULES on their calls, allows the rest. */
static void
install_rules (const struct rule *rules, size_t n)
{
  struct sock_filter code[32];
  size_t len = 0;
  code[len++] = (struct sock_filter)BPF_STMT (
      BPF_LD | BPF_W | BPF_ABS, offsetof (struct seccomp_data, arch));
  code[len++] = (struct sock_filter)BPF_JUMP (BPF_JMP | BPF_JEQ | BPF_K,
                                              AUDIT_ARCH_X86_64, 1, 0);
  code[len++] = (struct sock_filter)BPF_STMT (BPF_RET | BPF_K,
                                              SECCOMP_RET_KILL_PROCESS);
  code[len++] = (struct sock_filter)BPF_STMT (
      BPF_LD | BPF_W | BPF_ABS, offsetof (struct seccomp_data, nr));
  for (size_t i = 0; i < n; i++) {
    code[len++] = (struct sock_filter)BPF_JUMP (BPF_JMP | BPF_JEQ | BPF_K,
                                                (uint32_t)rules[i].nr, 0, 1);
    code[len++]
        = (struct sock_filter)BPF_STMT (BPF_RET | BPF_K, rules[i].action);
  }
  code[len++]
      = (struct sock_filter)BPF_STMT (BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
  install (code, len);
}

static void
setup_none (void)
{
}

static void
setup_allow_all (void)
{
  static const struct sock_filter code[]
      = { BPF_STMT (BPF_RET | BPF_K, SECCOMP_RET_ALLOW) };
  install (code, LENGTH (code));
}

static void
setup_kill_mmap (void)
{
  static const struct rule rules[] = { { SYS_mmap, SECCOMP_RET_KILL_THREAD } };
  install_rules (rules, LENGTH (rules));
}

static void
setup_errno_mprotect (void)
{
  static const struct rule rules[]
      = { { SYS_mprotect, SECCOMP_RET_ERRNO | EACCES } };
  install_rules (rules, LENGTH (rules));
}

static void
setup_trap_prctl (void)
{
  static const struct rule rules[] = { { SYS_prctl, SECCOMP_RET_TRAP } };
  install_rules (rules, LENGTH (rules));
}

/* Kills the process on mprotect with PROT_EXEC in args[2].  */
static void
setup_exec_mprotect (void)
{
  static const struct sock_filter code[] = {
    BPF_STMT (BPF_LD | BPF_W | BPF_ABS, offsetof (struct seccomp_data, arch)),
    BPF_JUMP (BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
    BPF_STMT (BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
    BPF_STMT (BPF_LD | BPF_W | BPF_ABS, offsetof (struct seccomp_data, nr)),
    BPF_JUMP (BPF_JMP | BPF_JEQ | BPF_K, SYS_mprotect, 0, 3),
    BPF_STMT (BPF_LD | BPF_W | BPF_ABS, ARG_LOW (2)),
    BPF_JUMP (BPF_JMP | BPF_JSET | BPF_K, PROT_EXEC, 0, 1),
    BPF_STMT (BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
    BPF_STMT (BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
  };
  install (code, LENGTH (code));
}

/* Two filters: ERRNO beats TRACE, LOG allows, and between two ERRNOs the
   most recent filter wins.  */
static void
setup_stacked (void)
{
  static const struct rule older[] = {
    { SYS_mprotect, SECCOMP_RET_TRACE },
    { SYS_getpid, SECCOMP_RET_LOG },
    { SYS_mmap, SECCOMP_RET_ERRNO | EPERM },
  };
  static const struct rule newer[] = {
    { SYS_mprotect, SECCOMP_RET_ERRNO | EACCES },
    { SYS_mmap, SECCOMP_RET_ERRNO | ENOMEM },
  };
  install_rules (older, LENGTH (older));
  install_rules (newer, LENGTH (newer));
}

/* EPERM on getpid from the `syscall` at SYSCALL_IP (the filter sees the
   address after it).  */
static void
setup_ip (void)
{
  uint64_t after = SYSCALL_IP + 2;
  struct sock_filter code[] = {
    BPF_STMT (BPF_LD | BPF_W | BPF_ABS, offsetof (struct seccomp_data, arch)),
    BPF_JUMP (BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
    BPF_STMT (BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
    BPF_STMT (BPF_LD | BPF_W | BPF_ABS, offsetof (struct seccomp_data, nr)),
    BPF_JUMP (BPF_JMP | BPF_JEQ | BPF_K, SYS_getpid, 0, 5),
    BPF_STMT (BPF_LD | BPF_W | BPF_ABS, IP_LOW),
    BPF_JUMP (BPF_JMP | BPF_JEQ | BPF_K, (uint32_t)after, 0, 3),
    BPF_STMT (BPF_LD | BPF_W | BPF_ABS, IP_LOW + 4),
    BPF_JUMP (BPF_JMP | BPF_JEQ | BPF_K, (uint32_t)(after >> 32), 0, 1),
    BPF_STMT (BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
    BPF_STMT (BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
  };
  install (code, LENGTH (code));
}

/* getpid fails with an errno computed from its arguments by every kind of
   instruction; args[1] == 0 divides by zero, which kills the thread.  */
static const struct sock_filter alu_program[] = {
  /* 0 */ BPF_STMT (BPF_LD | BPF_W | BPF_ABS,
                    offsetof (struct seccomp_data, nr)),
  /* 1 */ BPF_JUMP (BPF_JMP | BPF_JEQ | BPF_K, SYS_getpid, 1, 0),
  /* 2 */ BPF_STMT (BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
  /* 3 */
  BPF_STMT (BPF_LD | BPF_W | BPF_ABS, offsetof (struct seccomp_data, arch)),
  /* 4 */ BPF_JUMP (BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
  /* 5 */ BPF_STMT (BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
  /* 6 */ BPF_STMT (BPF_LD | BPF_W | BPF_ABS, ARG_LOW (0)),
  /* 7 */ BPF_STMT (BPF_ST, 0),
  /* 8 */ BPF_STMT (BPF_LDX | BPF_W | BPF_LEN, 0),
  /* 9 */ BPF_STMT (BPF_ALU | BPF_ADD | BPF_X, 0),
  /* 10 */ BPF_STMT (BPF_ALU | BPF_SUB | BPF_K, 3),
  /* 11 */ BPF_STMT (BPF_ALU | BPF_MUL | BPF_K, 5),
  /* 12 */ BPF_STMT (BPF_ST, 1),
  /* 13 */ BPF_STMT (BPF_LD | BPF_W | BPF_ABS, ARG_LOW (1)),
  /* 14 */ BPF_STMT (BPF_MISC | BPF_TAX, 0),
  /* 15 */ BPF_STMT (BPF_LD | BPF_MEM, 1),
  /* 16 */ BPF_STMT (BPF_ALU | BPF_DIV | BPF_X, 0),
  /* 17 */ BPF_STMT (BPF_STX, 2),
  /* 18 */ BPF_STMT (BPF_LDX | BPF_MEM, 0),
  /* 19 */ BPF_STMT (BPF_ALU | BPF_XOR | BPF_X, 0),
  /* 20 */ BPF_STMT (BPF_ALU | BPF_MUL | BPF_X, 0),
  /* 21 */ BPF_STMT (BPF_ALU | BPF_OR | BPF_K, 0x10),
  /* 22 */ BPF_STMT (BPF_ALU | BPF_AND | BPF_K, 0xfff0),
  /* 23 */ BPF_STMT (BPF_ALU | BPF_LSH | BPF_K, 3),
  /* 24 */ BPF_STMT (BPF_ALU | BPF_RSH | BPF_K, 2),
  /* 25 */ BPF_STMT (BPF_ALU | BPF_NEG, 0),
  /* 26 */ BPF_STMT (BPF_ST, 3),
  /* 27 */ BPF_STMT (BPF_LD | BPF_W | BPF_ABS, ARG_LOW (2)),
  /* 28 */ BPF_STMT (BPF_MISC | BPF_TAX, 0),
  /* 29 */ BPF_STMT (BPF_LD | BPF_IMM, 0x12345),
  /* 30 */ BPF_STMT (BPF_ALU | BPF_LSH | BPF_X, 0),
  /* 31 */ BPF_STMT (BPF_LDX | BPF_MEM, 3),
  /* 32 */ BPF_STMT (BPF_ALU | BPF_ADD | BPF_X, 0),
  /* 33 */ BPF_STMT (BPF_LDX | BPF_MEM, 2),
  /* 34 */ BPF_STMT (BPF_ALU | BPF_SUB | BPF_X, 0),
  /* 35 */ BPF_STMT (BPF_ALU | BPF_DIV | BPF_K, 3),
  /* 36 */ BPF_STMT (BPF_ALU | BPF_OR | BPF_X, 0),
  /* 37 */ BPF_JUMP (BPF_JMP | BPF_JSET | BPF_K, 4, 0, 1),
  /* 38 */ BPF_STMT (BPF_ALU | BPF_RSH | BPF_X, 0),
  /* 39 */ BPF_STMT (BPF_MISC | BPF_TAX, 0),
  /* 40 */ BPF_STMT (BPF_LD | BPF_W | BPF_ABS, ARG_LOW (0) + 4),
  /* 41 */ BPF_JUMP (BPF_JMP | BPF_JGT | BPF_X, 0, 0, 2),
  /* 42 */ BPF_STMT (BPF_LD | BPF_W | BPF_LEN, 0),
  /* 43 */ BPF_STMT (BPF_JMP | BPF_JA, 1),
  /* 44 */ BPF_STMT (BPF_MISC | BPF_TXA, 0),
  /* 45 */ BPF_JUMP (BPF_JMP | BPF_JGT | BPF_K, 0x7fffff, 0, 1),
  /* 46 */ BPF_STMT (BPF_RET | BPF_K, SECCOMP_RET_ERRNO | 7),
  /* 47 */ BPF_STMT (BPF_LDX | BPF_IMM, 0x3ff),
  /* 48 */ BPF_STMT (BPF_ALU | BPF_AND | BPF_X, 0),
  /* 49 */ BPF_STMT (BPF_ALU | BPF_OR | BPF_K, 1),
  /* 50 */ BPF_STMT (BPF_LDX | BPF_MEM, 2),
  /* 51 */ BPF_JUMP (BPF_JMP | BPF_JGE | BPF_X, 0, 1, 0),
  /* 52 */ BPF_STMT (BPF_ALU | BPF_ADD | BPF_K, 0x400),
  /* 53 */ BPF_JUMP (BPF_JMP | BPF_JSET | BPF_X, 0, 0, 1),
  /* 54 */ BPF_STMT (BPF_ALU | BPF_XOR | BPF_K, 0x200),
  /* 55 */ BPF_JUMP (BPF_JMP | BPF_JEQ | BPF_X, 0, 0, 1),
  /* 56 */ BPF_STMT (BPF_RET | BPF_K, SECCOMP_RET_ERRNO | 9),
  /* 57 */ BPF_STMT (BPF_ALU | BPF_OR | BPF_K, SECCOMP_RET_ERRNO),
  /* 58 */ BPF_STMT (BPF_RET | BPF_A, 0),
};

static void
setup_alu (void)
{
  install (alu_program, LENGTH (alu_program));
}

static void
setup_strict (void)
{
  if (prctl (PR_SET_SECCOMP, SECCOMP_MODE_STRICT) != 0) {
    perror ("strict mode");
    _exit (100);
  }
}

/* The children: SETUP, then a byte to say ready, then requests.  */

struct request
{
  char cmd; /* 'g' run the probe, 'i' getpid at SYSCALL_IP, 'q' exit */
  struct ulp_syscall_probe probe;
};

struct child
{
  pid_t pid;
  int to, from;
};

/* Reads, writes and exit only: strict mode allows nothing else.  */
static void
serve (int in, int out)
{
  struct request req;
  long ret = 0;
  while (read (in, &req, sizeof req) == (ssize_t)sizeof req && req.cmd != 'q') {
    const uint64_t *a = req.probe.args;
    if (req.cmd == 'i')
      ret = probe_test_raw_getpid ();
    else {
      ret = syscall (req.probe.nr, a[0], a[1], a[2], a[3], a[4], a[5]);
      ret = ret == -1 ? -errno : ret;
    }
    if (write (out, &ret, sizeof ret) != (ssize_t)sizeof ret)
      break;
  }
  syscall (SYS_exit, 0);
}

static struct child
spawn (void (*setup) (void))
{
  int to[2], from[2];
  struct child c = { -1, -1, -1 };
  if (pipe (to) != 0 || pipe (from) != 0) {
    perror ("pipe");
    exit (2);
  }
  fflush (stdout);
  c.pid = fork ();
  if (c.pid == 0) {
    struct rlimit no_core = { 0, 0 };
    setrlimit (RLIMIT_CORE, &no_core);
    close (to[1]);
    close (from[0]);
    setup ();
    char ready = 'r';
    if (write (from[1], &ready, 1) == 1)
      serve (to[0], from[1]);
    syscall (SYS_exit, 1);
  }
  close (to[0]);
  close (from[1]);
  c.to = to[1];
  c.from = from[0];
  char ready;
  if (c.pid < 0 || read (c.from, &ready, 1) != 1) {
    fprintf (stderr, "child setup failed\n");
    exit (2);
  }
  return c;
}

static int
stop (pid_t pid)
{
  int status;
  if (ptrace (PTRACE_SEIZE, pid, 0, 0) != 0
      || ptrace (PTRACE_INTERRUPT, pid, 0, 0) != 0
      || waitpid (pid, &status, 0) != pid || !WIFSTOPPED (status)) {
    perror ("stopping the child");
    return -1;
  }
  return 0;
}

static void
release (pid_t pid)
{
  if (ptrace (PTRACE_DETACH, pid, 0, 0) != 0)
    perror ("PTRACE_DETACH");
}

/* Kernel outcome of a request: the return value, or the signal that
   killed the child (then *SIG is set).  */
static long
ask (struct child *c, char cmd, const struct ulp_syscall_probe *probe, int *sig)
{
  struct request req = { cmd, *probe };
  long ret;
  int status;
  *sig = 0;
  if (write (c->to, &req, sizeof req) != (ssize_t)sizeof req
      || read (c->from, &ret, sizeof ret) != (ssize_t)sizeof ret) {
    if (waitpid (c->pid, &status, 0) == c->pid && WIFSIGNALED (status))
      *sig = WTERMSIG (status);
    c->pid = -1;
    return 0;
  }
  return ret;
}

static void
finish (struct child *c, const char *name)
{
  int status;
  if (c->pid > 0) {
    struct request req = { 'q', { 0, { 0 } } };
    if (write (c->to, &req, sizeof req) != (ssize_t)sizeof req
        || waitpid (c->pid, &status, 0) != c->pid || !WIFEXITED (status)
        || WEXITSTATUS (status) != 0)
      verdict (0, "%s: child did not exit cleanly", name);
  }
  close (c->to);
  close (c->from);
}

/* Checks and expectations.  */

static void
expect_check (const char *name, pid_t pid,
              const struct ulp_syscall_probe *probes, size_t n, uint64_t ip,
              int expected, const char *reason)
{
  char why[160] = "";
  ulp_clear_error ();
  int got = ulp_seccomp_check (pid, probes, n, ip, why, sizeof why);
  const char *detail = got < 0 ? ulp_error () : got == 0 ? why : "allowed";
  int ok = got == expected && (got != 0 || strcmp (why, reason) == 0);
  verdict (ok, "%s: check -> %d (%s)", name, got, detail);
  if (!ok && got != expected)
    printf ("     expected %d%s%s\n", expected, reason ? ": " : "",
            reason ? reason : "");
  else if (!ok)
    printf ("     expected reason: %s\n", reason);
}

static const char *
kernel_outcome (long ret, int sig, char *buf, size_t len)
{
  if (sig)
    snprintf (buf, len, "killed by SIG%s", sigabbrev_np (sig));
  else if (ret < 0 && ret > -4096)
    snprintf (buf, len, "failed with %s", strerrorname_np ((int)-ret));
  else
    snprintf (buf, len, "returned %ld", ret);
  return buf;
}

/* Has the child run PROBE (through request CMD) and expects it to die of
   EXPECTED_SIG, or (EXPECTED_SIG 0) to return EXPECTED_RET (if negative,
   -errno) or any non-negative value (EXPECTED_RET 0).  */
static void
expect_kernel (const char *name, struct child *c, char cmd,
               const struct ulp_syscall_probe *probe, int expected_sig,
               long expected_ret)
{
  int sig;
  char buf[64];
  long ret = ask (c, cmd, probe, &sig);
  int ok = expected_sig
               ? sig == expected_sig
               : !sig && (expected_ret < 0 ? ret == expected_ret : ret >= 0);
  verdict (ok, "%s: kernel runs system call %d -> %s", name, probe->nr,
           kernel_outcome (ret, sig, buf, sizeof buf));
}

static void
checked_while_stopped (const char *name, struct child *c,
                       const struct ulp_syscall_probe *probes, size_t n,
                       int expected, const char *reason)
{
  if (stop (c->pid) != 0) {
    verdict (0, "%s: cannot stop the child", name);
    return;
  }
  expect_check (name, c->pid, probes, n, SYSCALL_IP, expected, reason);
  release (c->pid);
}

static const struct ulp_syscall_probe tool_probes[]
    = { mmap_probe, mprotect_probe, prctl_probe };

static void
test_unfiltered (void)
{
  struct child c = spawn (setup_none);
  /* Not even attached: any ptrace call would fail with ESRCH.  */
  expect_check ("unfiltered, not stopped", c.pid, tool_probes,
                LENGTH (tool_probes), SYSCALL_IP, 1, NULL);
  expect_kernel ("unfiltered", &c, 'g', &mmap_probe, 0, 0);
  finish (&c, "unfiltered");
}

static void
test_not_stopped (void)
{
  struct child c = spawn (setup_allow_all);
  expect_check ("filtered, not stopped (ESRCH)", c.pid, tool_probes,
                LENGTH (tool_probes), SYSCALL_IP, -1, NULL);
  finish (&c, "filtered, not stopped");
}

static void
test_allow_all (void)
{
  struct child c = spawn (setup_allow_all);
  checked_while_stopped ("allow-all", &c, tool_probes, LENGTH (tool_probes), 1,
                         NULL);
  expect_kernel ("allow-all", &c, 'g', &mmap_probe, 0, 0);
  finish (&c, "allow-all");
}

static void
test_kill_mmap (void)
{
  struct child c = spawn (setup_kill_mmap);
  checked_while_stopped ("kill-on-mmap", &c, tool_probes, LENGTH (tool_probes),
                         0, "its seccomp filter would kill the thread on mmap");
  static const struct ulp_syscall_probe others[]
      = { mprotect_probe, prctl_probe, getpid_probe };
  checked_while_stopped ("kill-on-mmap, without mmap", &c, others,
                         LENGTH (others), 1, NULL);
  expect_kernel ("kill-on-mmap", &c, 'g', &prctl_probe, 0, 0);
  expect_kernel ("kill-on-mmap", &c, 'g', &mmap_probe, SIGSYS, 0);
  finish (&c, "kill-on-mmap");
}

static void
test_errno_mprotect (void)
{
  struct child c = spawn (setup_errno_mprotect);
  checked_while_stopped ("errno-on-mprotect", &c, tool_probes,
                         LENGTH (tool_probes), 0,
                         "its seccomp filter would fail with EACCES on "
                         "mprotect");
  expect_kernel ("errno-on-mprotect", &c, 'g', &mprotect_probe, 0, -EACCES);
  expect_kernel ("errno-on-mprotect", &c, 'g', &mmap_probe, 0, 0);
  finish (&c, "errno-on-mprotect");
}

static void
test_exec_mprotect (void)
{
  static const struct ulp_syscall_probe exec[]
      = { mmap_probe, mprotect_exec_probe, prctl_probe };
  struct child c = spawn (setup_exec_mprotect);
  checked_while_stopped ("arch+PROT_EXEC, mprotect(PROT_READ)", &c, tool_probes,
                         LENGTH (tool_probes), 1, NULL);
  checked_while_stopped ("arch+PROT_EXEC, mprotect(PROT_READ|PROT_EXEC)", &c,
                         exec, LENGTH (exec), 0,
                         "its seccomp filter would kill the process on "
                         "mprotect");
  expect_kernel ("arch+PROT_EXEC", &c, 'g', &mprotect_probe, 0, 0);
  expect_kernel ("arch+PROT_EXEC", &c, 'g', &mprotect_exec_probe, SIGSYS, 0);
  finish (&c, "arch+PROT_EXEC");
}

static void
test_trap_prctl (void)
{
  struct child c = spawn (setup_trap_prctl);
  checked_while_stopped ("trap-on-prctl", &c, tool_probes, LENGTH (tool_probes),
                         0, "its seccomp filter would raise SIGSYS on prctl");
  expect_kernel ("trap-on-prctl", &c, 'g', &prctl_probe, SIGSYS, 0);
  finish (&c, "trap-on-prctl");
}

static void
test_stacked (void)
{
  struct child c = spawn (setup_stacked);
  checked_while_stopped ("stacked, getpid (LOG)", &c, &getpid_probe, 1, 1,
                         NULL);
  checked_while_stopped ("stacked, mprotect (ERRNO over TRACE)", &c,
                         &mprotect_probe, 1, 0,
                         "its seccomp filter would fail with EACCES on "
                         "mprotect");
  checked_while_stopped ("stacked, mmap (newest ERRNO)", &c, &mmap_probe, 1, 0,
                         "its seccomp filter would fail with ENOMEM on mmap");
  expect_kernel ("stacked", &c, 'g', &getpid_probe, 0, 0);
  expect_kernel ("stacked", &c, 'g', &mprotect_probe, 0, -EACCES);
  expect_kernel ("stacked", &c, 'g', &mmap_probe, 0, -ENOMEM);
  finish (&c, "stacked");
}

static void
test_instruction_pointer (void)
{
  struct child c = spawn (setup_ip);
  if (stop (c.pid) == 0) {
    expect_check ("ip filter, at its syscall", c.pid, &getpid_probe, 1,
                  SYSCALL_IP, 0,
                  "its seccomp filter would fail with EPERM on getpid");
    expect_check ("ip filter, elsewhere", c.pid, &getpid_probe, 1,
                  SYSCALL_IP + 16, 1, NULL);
    release (c.pid);
  }
  expect_kernel ("ip filter, at its syscall", &c, 'i', &getpid_probe, 0,
                 -EPERM);
  expect_kernel ("ip filter, through libc", &c, 'g', &getpid_probe, 0, 0);
  finish (&c, "ip filter");
}

static void
test_strict (void)
{
  static const struct ulp_syscall_probe harmless[] = {
    { SYS_read, { 0 } },
    { SYS_write, { 1 } },
  };
  struct child c = spawn (setup_strict);
  checked_while_stopped ("strict", &c, tool_probes, LENGTH (tool_probes), 0,
                         "its seccomp strict mode would kill the thread on "
                         "mmap");
  checked_while_stopped ("strict, read and write", &c, harmless,
                         LENGTH (harmless), 1, NULL);
  expect_kernel ("strict", &c, 'g', &mmap_probe, SIGKILL, 0);
  finish (&c, "strict");
}

/* getpid arguments for the ALU program: edge cases, then pseudo-random. */
static void
alu_args (unsigned i, uint64_t *args)
{
  static const uint64_t fixed[][3] = {
    { 0, 1, 0 },
    { 5, 3, 33 }, /* shifts by X use the low five bits */
    { 0xffffffff00000007, 2, 64 + 7 },
    { 0x100000000, 0xffffffff, 31 },
    { 123, 0x7fffffff, 32 },
  };
  memset (args, 0, 6 * sizeof *args);
  if (i < LENGTH (fixed)) {
    memcpy (args, fixed[i], sizeof fixed[i]);
    return;
  }
  uint64_t state = 0x9e3779b97f4a7c15u * (i + 1);
  for (int k = 0; k < 3; k++) {
    state ^= state >> 29;
    state *= 0xbf58476d1ce4e5b9u;
    state ^= state >> 32;
    args[k] = state;
  }
  args[1] |= 1; /* no division by zero here */
}

static long
predicted_errno (const struct ulp_syscall_probe *probe)
{
  struct seccomp_data data = { .nr = probe->nr, .arch = AUDIT_ARCH_X86_64 };
  memcpy (data.args, probe->args, sizeof data.args);
  int64_t ret
      = ulp_seccomp_run_filter (alu_program, LENGTH (alu_program), &data);
  if (ret < 0 || (ret & SECCOMP_RET_ACTION_FULL) != SECCOMP_RET_ERRNO)
    return 0;
  return -(long)(ret & SECCOMP_RET_DATA);
}

/* The errno as ulp_seccomp_check names it.  */
static void
errno_reason (long err, char *buf, size_t len)
{
  const char *name = strerrorname_np ((int)err);
  if (name)
    snprintf (buf, len, "its seccomp filter would fail with %s on getpid",
              name);
  else
    snprintf (buf, len,
              "its seccomp filter would fail with errno %ld on getpid", err);
}

/* Whether the kernel makes getpid fail as the evaluator predicts.  */
static int
kernel_agrees_on_alu (struct child *c, const struct ulp_syscall_probe *probe)
{
  long expected = predicted_errno (probe);
  int sig;
  long ret = ask (c, 'g', probe, &sig);
  if (!sig && expected < 0 && ret == expected)
    return 1;
  printf ("     args %#llx %#llx %#llx: predicted %ld, kernel %ld (signal "
          "%d)\n",
          (unsigned long long)probe->args[0],
          (unsigned long long)probe->args[1],
          (unsigned long long)probe->args[2], expected, ret, sig);
  return 0;
}

static void
test_alu (void)
{
  struct child c = spawn (setup_alu);
  struct ulp_syscall_probe probe = getpid_probe;
  alu_args (1, probe.args);
  char reason[160];
  errno_reason (-predicted_errno (&probe), reason, sizeof reason);
  checked_while_stopped ("alu", &c, &probe, 1, 0, reason);
  struct ulp_syscall_probe by_zero = getpid_probe;
  by_zero.args[1] = 0;
  checked_while_stopped ("alu, division by zero", &c, &by_zero, 1, 0,
                         "its seccomp filter would kill the thread on getpid");
  checked_while_stopped ("alu, mmap", &c, &mmap_probe, 1, 1, NULL);
  unsigned agree = 0, runs = 40;
  for (unsigned i = 0; i < runs && c.pid > 0; i++) {
    alu_args (i, probe.args);
    agree += kernel_agrees_on_alu (&c, &probe);
  }
  verdict (agree == runs, "alu: kernel errno = evaluator's in %u/%u runs",
           agree, runs);
  expect_kernel ("alu, division by zero", &c, 'g', &by_zero, SIGSYS, 0);
  finish (&c, "alu");
}

/* Programs the kernel refuses, and a few it takes.  */

struct program
{
  const char *name;
  struct sock_filter code[6];
  size_t len;
  int64_t expected; /* on an empty getpid */
};

#define STMT(code, k) BPF_STMT (code, k)
#define JUMP(code, k, jt, jf) BPF_JUMP (code, k, jt, jf)
#define RET_ALLOW STMT (BPF_RET | BPF_K, SECCOMP_RET_ALLOW)
#define RET_A STMT (BPF_RET | BPF_A, 0)

static const struct program programs[] = {
  { "empty", { RET_ALLOW }, 0, -1 },
  { "falls off the end", { STMT (BPF_LD | BPF_IMM, 1) }, 1, -1 },
  { "jump past the end", { STMT (BPF_JMP | BPF_JA, 1), RET_ALLOW }, 2, -1 },
  { "conditional jump past the end",
    { JUMP (BPF_JMP | BPF_JEQ | BPF_K, 0, 0, 5), RET_ALLOW, RET_ALLOW },
    3,
    -1 },
  { "byte load", { STMT (BPF_LD | BPF_B | BPF_ABS, 0), RET_ALLOW }, 2, -1 },
  { "load past seccomp_data",
    { STMT (BPF_LD | BPF_W | BPF_ABS, 64), RET_ALLOW },
    2,
    -1 },
  { "unaligned load",
    { STMT (BPF_LD | BPF_W | BPF_ABS, 2), RET_ALLOW },
    2,
    -1 },
  { "scratch word 16", { STMT (BPF_ST, 16), RET_ALLOW }, 2, -1 },
  { "scratch read before write", { STMT (BPF_LD | BPF_MEM, 0), RET_A }, 2, -1 },
  { "scratch written on one path only",
    { STMT (BPF_LD | BPF_W | BPF_ABS, 0),
      JUMP (BPF_JMP | BPF_JEQ | BPF_K, 0, 0, 1), STMT (BPF_ST, 0),
      STMT (BPF_LD | BPF_MEM, 0), RET_A },
    5,
    -1 },
  { "division by constant zero",
    { STMT (BPF_ALU | BPF_DIV | BPF_K, 0), RET_ALLOW },
    2,
    -1 },
  { "shift by 32", { STMT (BPF_ALU | BPF_LSH | BPF_K, 32), RET_ALLOW }, 2, -1 },
  { "modulo", { STMT (BPF_ALU | BPF_MOD | BPF_K, 3), RET_ALLOW }, 2, -1 },
  { "return X", { STMT (BPF_RET | BPF_X, 0) }, 1, -1 },
  { "ld imm; ret a",
    { STMT (BPF_LD | BPF_IMM, 0x7fff0005), RET_A },
    2,
    0x7fff0005 },
  { "ld len; ret a", { STMT (BPF_LD | BPF_W | BPF_LEN, 0), RET_A }, 2, 64 },
  { "scratch written on both paths",
    { STMT (BPF_LD | BPF_W | BPF_ABS, 0),
      JUMP (BPF_JMP | BPF_JEQ | BPF_K, 0, 1, 0), STMT (BPF_ST, 0),
      STMT (BPF_ST, 0), STMT (BPF_LD | BPF_MEM, 0), RET_A },
    6,
    SYS_getpid },
  { "division by X = 0",
    { STMT (BPF_LD | BPF_IMM, 7), STMT (BPF_ALU | BPF_DIV | BPF_X, 0),
      RET_ALLOW },
    3,
    SECCOMP_RET_KILL_THREAD },
};

/* Whether the kernel takes the program, tried in a child.  */
static int
kernel_accepts (const struct program *p)
{
  struct sock_fprog prog
      = { (unsigned short)p->len, (struct sock_filter *)p->code };
  int status;
  fflush (stdout);
  pid_t pid = fork ();
  if (pid == 0) {
    struct rlimit no_core = { 0, 0 };
    setrlimit (RLIMIT_CORE, &no_core);
    prctl (PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
    if (syscall (SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) != 0)
      syscall (SYS_exit, errno == EINVAL ? 1 : 2);
    syscall (SYS_exit, 0); /* the program may well kill us here */
  }
  if (pid < 0 || waitpid (pid, &status, 0) != pid)
    return -1;
  if (WIFEXITED (status) && WEXITSTATUS (status) != 0)
    return WEXITSTATUS (status) == 1 ? 0 : -1;
  return 1;
}

static void
test_programs (void)
{
  struct seccomp_data data = { .nr = SYS_getpid, .arch = AUDIT_ARCH_X86_64 };
  for (size_t i = 0; i < LENGTH (programs); i++) {
    const struct program *p = &programs[i];
    int64_t got = ulp_seccomp_run_filter (p->code, p->len, &data);
    int kernel = kernel_accepts (p);
    verdict (got == p->expected && kernel == (p->expected >= 0),
             "program \"%s\": evaluator %lld, kernel %s", p->name,
             (long long)got,
             kernel < 0 ? "?"
             : kernel   ? "accepts"
                        : "refuses");
  }
}

int
main (void)
{
  if (geteuid () != 0) {
    fprintf (stderr, "probe_test: needs root\n");
    return 2;
  }
  test_programs ();
  test_unfiltered ();
  test_not_stopped ();
  test_allow_all ();
  test_kill_mmap ();
  test_errno_mprotect ();
  test_exec_mprotect ();
  test_trap_prctl ();
  test_stacked ();
  test_instruction_pointer ();
  test_strict ();
  test_alu ();
  if (failures)
    printf ("%d wrong verdict(s)\n", failures);
  else
    printf ("all verdicts right\n");
  return failures ? 1 : 0;
}
