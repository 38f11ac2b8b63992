#include <errno.h>
#include <linux/audit.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>

#include "error.h"
#include "proc.h"
#include "seccomp.h"

/* The filters see the address after the `syscall` instruction (0f 05).  */
#define SYSCALL_INSN_LEN 2
#define SECCOMP_DATA_SIZE ((uint32_t)sizeof (struct seccomp_data))
/* The kernel caps the errno of SECCOMP_RET_ERRNO to MAX_ERRNO.  */
#define MAX_ERRNO 4095

/* x86-64 system call numbers.  */
enum
{
  NR_READ = 0,
  NR_WRITE = 1,
  NR_MMAP = 9,
  NR_MPROTECT = 10,
  NR_MUNMAP = 11,
  NR_RT_SIGRETURN = 15,
  NR_MADVISE = 28,
  NR_GETPID = 39,
  NR_EXIT = 60,
  NR_PRCTL = 157,
  NR_CLOSE = 3,
  NR_FTRUNCATE = 77,
  NR_MEMFD_CREATE = 319,
};

static const char *
syscall_name (int nr)
{
  switch (nr) {
  case NR_READ:
    return "read";
  case NR_WRITE:
    return "write";
  case NR_MMAP:
    return "mmap";
  case NR_MPROTECT:
    return "mprotect";
  case NR_MUNMAP:
    return "munmap";
  case NR_RT_SIGRETURN:
    return "rt_sigreturn";
  case NR_MADVISE:
    return "madvise";
  case NR_GETPID:
    return "getpid";
  case NR_EXIT:
    return "exit";
  case NR_PRCTL:
    return "prctl";
  case NR_CLOSE:
    return "close";
  case NR_FTRUNCATE:
    return "ftruncate";
  case NR_MEMFD_CREATE:
    return "memfd_create";
  default:
    return NULL;
  }
}

static void
refuse (char *why, size_t len, const char *policy, const char *action, int nr)
{
  if (!why || len == 0)
    return;
  const char *name = syscall_name (nr);
  if (name)
    snprintf (why, len, "its seccomp %s would %s on %s", policy, action, name);
  else
    snprintf (why, len, "its seccomp %s would %s on system call %d", policy,
              action, nr);
}

static void
set_reason (char *why, size_t len, const char *reason)
{
  if (why && len > 0)
    snprintf (why, len, "%s", reason);
}

/* The Seccomp: field of /proc/TID/status; 0 when the kernel has none.  */
static int
read_seccomp_mode (pid_t tid, int *mode)
{
  struct ulp_proc_status st;
  if (ulp_proc_status (tid, &st) < 0)
    return ulp_fail ("cannot read /proc/%d/status: %s", (int)tid,
                     strerror (errno));
  *mode = st.seccomp;
  return 0;
}

/* In strict mode the kernel kills the thread on any other call.  */
static int
strict_mode_allows (int nr)
{
  return nr == NR_READ || nr == NR_WRITE || nr == NR_EXIT
         || nr == NR_RT_SIGRETURN;
}

static int
check_strict (const struct ulp_syscall_probe *probes, size_t n, char *why,
              size_t len)
{
  for (size_t i = 0; i < n; i++)
    if (!strict_mode_allows (probes[i].nr)) {
      refuse (why, len, "strict mode", "kill the thread", probes[i].nr);
      return 0;
    }
  return 1;
}

/* Classic BPF, as the kernel's seccomp checker accepts it.  */

static int
is_alu_op (uint16_t code)
{
  switch (BPF_OP (code)) {
  case BPF_ADD:
  case BPF_SUB:
  case BPF_MUL:
  case BPF_DIV:
  case BPF_AND:
  case BPF_OR:
  case BPF_XOR:
  case BPF_LSH:
  case BPF_RSH:
    return 1;
  default:
    return 0;
  }
}

static int
is_conditional_jump (uint16_t code)
{
  switch (BPF_OP (code)) {
  case BPF_JEQ:
  case BPF_JGT:
  case BPF_JGE:
  case BPF_JSET:
    return 1;
  default:
    return 0;
  }
}

static int
valid_alu (const struct sock_filter *insn)
{
  uint16_t code = insn->code;
  if (code == (BPF_ALU | BPF_NEG))
    return 1;
  if (code != (BPF_ALU | BPF_OP (code) | BPF_SRC (code)) || !is_alu_op (code))
    return 0;
  if (BPF_SRC (code) == BPF_X)
    return 1;
  if (BPF_OP (code) == BPF_DIV)
    return insn->k != 0;
  if (BPF_OP (code) == BPF_LSH || BPF_OP (code) == BPF_RSH)
    return insn->k < 32;
  return 1;
}

static int
valid_jump (const struct sock_filter *insn, size_t pc, size_t len)
{
  uint16_t code = insn->code;
  size_t remaining = len - pc - 1;
  if (code == (BPF_JMP | BPF_JA))
    return insn->k < remaining;
  if (code != (BPF_JMP | BPF_OP (code) | BPF_SRC (code))
      || !is_conditional_jump (code))
    return 0;
  return insn->jt < remaining && insn->jf < remaining;
}

/* Whether the kernel would accept the single instruction at PC, memory
   initialisation aside.  */
static int
valid_instruction (const struct sock_filter *code, size_t pc, size_t len)
{
  const struct sock_filter *insn = &code[pc];
  switch (insn->code) {
  case BPF_LD | BPF_W | BPF_ABS:
    return insn->k < SECCOMP_DATA_SIZE && insn->k % 4 == 0;
  case BPF_LD | BPF_W | BPF_LEN:
  case BPF_LDX | BPF_W | BPF_LEN:
  case BPF_LD | BPF_IMM:
  case BPF_LDX | BPF_IMM:
  case BPF_MISC | BPF_TAX:
  case BPF_MISC | BPF_TXA:
  case BPF_RET | BPF_K:
  case BPF_RET | BPF_A:
    return 1;
  case BPF_LD | BPF_MEM:
  case BPF_LDX | BPF_MEM:
  case BPF_ST:
  case BPF_STX:
    return insn->k < BPF_MEMWORDS;
  default:
    break;
  }
  switch (BPF_CLASS (insn->code)) {
  case BPF_ALU:
    return valid_alu (insn);
  case BPF_JMP:
    return valid_jump (insn, pc, len);
  default:
    return 0;
  }
}

static int
is_memory_load (uint16_t code)
{
  return code == (BPF_LD | BPF_MEM) || code == (BPF_LDX | BPF_MEM);
}

static int
is_memory_store (uint16_t code)
{
  return code == BPF_ST || code == BPF_STX;
}

/* The kernel refuses a program that may read a scratch word before storing
   it on some path: track, per instruction, the words stored on every path
   that reaches it.  */
static int
memory_initialised_before_use (const struct sock_filter *code, size_t len)
{
  uint16_t stored[BPF_MAXINSNS];
  for (size_t pc = 0; pc < len; pc++)
    stored[pc] = pc == 0 ? 0 : 0xffff;
  for (size_t pc = 0; pc < len; pc++) {
    const struct sock_filter *insn = &code[pc];
    uint16_t valid = stored[pc];
    if (is_memory_load (insn->code) && !(valid & (1u << insn->k)))
      return 0;
    if (is_memory_store (insn->code))
      valid |= 1u << insn->k;
    if (insn->code == (BPF_JMP | BPF_JA))
      stored[pc + 1 + insn->k] &= valid;
    else if (BPF_CLASS (insn->code) == BPF_JMP) {
      stored[pc + 1 + insn->jt] &= valid;
      stored[pc + 1 + insn->jf] &= valid;
    } else if (BPF_CLASS (insn->code) != BPF_RET)
      stored[pc + 1] &= valid;
  }
  return 1;
}

static int
valid_program (const struct sock_filter *code, size_t len)
{
  if (len == 0 || len > BPF_MAXINSNS)
    return 0;
  for (size_t pc = 0; pc < len; pc++)
    if (!valid_instruction (code, pc, len))
      return 0;
  /* With every jump in bounds, this also keeps execution in the program. */
  if (BPF_CLASS (code[len - 1].code) != BPF_RET)
    return 0;
  return memory_initialised_before_use (code, len);
}

struct bpf_machine
{
  uint32_t a, x, mem[BPF_MEMWORDS];
  const struct seccomp_data *data;
};

static uint32_t
load_data_word (const struct seccomp_data *data, uint32_t offset)
{
  uint32_t word;
  memcpy (&word, (const char *)data + offset, sizeof word);
  return word;
}

/* Returns 0 after a division by zero, else 1.  */
static int
run_alu (struct bpf_machine *m, const struct sock_filter *insn)
{
  uint32_t operand = BPF_SRC (insn->code) == BPF_X ? m->x : insn->k;
  switch (BPF_OP (insn->code)) {
  case BPF_ADD:
    m->a += operand;
    break;
  case BPF_SUB:
    m->a -= operand;
    break;
  case BPF_MUL:
    m->a *= operand;
    break;
  case BPF_DIV:
    if (operand == 0)
      return 0;
    m->a /= operand;
    break;
  case BPF_AND:
    m->a &= operand;
    break;
  case BPF_OR:
    m->a |= operand;
    break;
  case BPF_XOR:
    m->a ^= operand;
    break;
  /* 32-bit shifts by X use its low five bits, as the kernel does.  */
  case BPF_LSH:
    m->a <<= operand & 31;
    break;
  case BPF_RSH:
    m->a >>= operand & 31;
    break;
  case BPF_NEG:
    m->a = -m->a;
    break;
  }
  return 1;
}

static int
jump_taken (const struct bpf_machine *m, const struct sock_filter *insn)
{
  uint32_t operand = BPF_SRC (insn->code) == BPF_X ? m->x : insn->k;
  switch (BPF_OP (insn->code)) {
  case BPF_JEQ:
    return m->a == operand;
  case BPF_JGT:
    return m->a > operand;
  case BPF_JGE:
    return m->a >= operand;
  default: /* BPF_JSET */
    return (m->a & operand) != 0;
  }
}

/* Runs the instruction at *PC: returns 1 and sets *RESULT on a return, 0 to
   go on with the updated *PC.  */
static int
step (struct bpf_machine *m, const struct sock_filter *code, size_t *pc,
      uint32_t *result)
{
  const struct sock_filter *insn = &code[*pc];
  *pc += 1;
  switch (insn->code) {
  case BPF_LD | BPF_W | BPF_ABS:
    m->a = load_data_word (m->data, insn->k);
    return 0;
  case BPF_LD | BPF_W | BPF_LEN:
    m->a = SECCOMP_DATA_SIZE;
    return 0;
  case BPF_LDX | BPF_W | BPF_LEN:
    m->x = SECCOMP_DATA_SIZE;
    return 0;
  case BPF_LD | BPF_IMM:
    m->a = insn->k;
    return 0;
  case BPF_LDX | BPF_IMM:
    m->x = insn->k;
    return 0;
  case BPF_LD | BPF_MEM:
    m->a = m->mem[insn->k];
    return 0;
  case BPF_LDX | BPF_MEM:
    m->x = m->mem[insn->k];
    return 0;
  case BPF_ST:
    m->mem[insn->k] = m->a;
    return 0;
  case BPF_STX:
    m->mem[insn->k] = m->x;
    return 0;
  case BPF_MISC | BPF_TAX:
    m->x = m->a;
    return 0;
  case BPF_MISC | BPF_TXA:
    m->a = m->x;
    return 0;
  case BPF_RET | BPF_K:
    *result = insn->k;
    return 1;
  case BPF_RET | BPF_A:
    *result = m->a;
    return 1;
  case BPF_JMP | BPF_JA:
    *pc += insn->k;
    return 0;
  default:
    break;
  }
  if (BPF_CLASS (insn->code) == BPF_ALU) {
    if (run_alu (m, insn))
      return 0;
    *result = SECCOMP_RET_KILL_THREAD; /* what the kernel returns */
    return 1;
  }
  *pc += jump_taken (m, insn) ? insn->jt : insn->jf;
  return 0;
}

int64_t
ulp_seccomp_run_filter (const struct sock_filter *code, size_t len,
                        const struct seccomp_data *data)
{
  if (!valid_program (code, len))
    return -1;
  struct bpf_machine m = { .data = data };
  size_t pc = 0;
  uint32_t result;
  /* Jumps only go forward, so each instruction runs at most once.  */
  for (size_t steps = 0; steps < len && pc < len; steps++)
    if (step (&m, code, &pc, &result))
      return result;
  return -1;
}

/* The kernel keeps the action that compares lowest as a signed 32-bit
   number: KILL_PROCESS (0x80000000) first, ALLOW last.  */
static int64_t
precedence (uint32_t ret)
{
  uint32_t action = ret & SECCOMP_RET_ACTION_FULL;
  return action & 0x80000000u ? (int64_t)action - 0x100000000 : action;
}

static int
action_allows (uint32_t ret)
{
  uint32_t action = ret & SECCOMP_RET_ACTION_FULL;
  return action == SECCOMP_RET_ALLOW || action == SECCOMP_RET_LOG;
}

static void
describe_action (uint32_t ret, char *buf, size_t len)
{
  uint32_t data = ret & SECCOMP_RET_DATA;
  const char *name;
  switch (ret & SECCOMP_RET_ACTION_FULL) {
  case SECCOMP_RET_KILL_THREAD:
    snprintf (buf, len, "kill the thread");
    break;
  case SECCOMP_RET_TRAP:
    snprintf (buf, len, "raise SIGSYS");
    break;
  case SECCOMP_RET_ERRNO:
    data = data < MAX_ERRNO ? data : MAX_ERRNO;
    name = strerrorname_np ((int)data);
    if (name)
      snprintf (buf, len, "fail with %s", name);
    else
      snprintf (buf, len, "fail with errno %u", (unsigned)data);
    break;
  case SECCOMP_RET_USER_NOTIF:
    snprintf (buf, len, "wait for its supervisor");
    break;
  case SECCOMP_RET_TRACE:
    snprintf (buf, len, "stop for a tracer");
    break;
  default: /* SECCOMP_RET_KILL_PROCESS, and unknown actions */
    snprintf (buf, len, "kill the process");
    break;
  }
}

static struct seccomp_data
probe_data (const struct ulp_syscall_probe *probe, uint64_t ip)
{
  struct seccomp_data data = {
    .nr = probe->nr,
    .arch = AUDIT_ARCH_X86_64,
    .instruction_pointer = ip + SYSCALL_INSN_LEN,
  };
  memcpy (data.args, probe->args, sizeof data.args);
  return data;
}

static const char *
get_filter_hint (int err)
{
  switch (err) {
  case EACCES:
    return " (it needs CAP_SYS_ADMIN and no seccomp filter on the tool)";
  case EMEDIUMTYPE:
    return " (the filter is not classic BPF)";
  case EINVAL:
    return " (the thread is not in filter mode, or the kernel lacks "
           "CONFIG_CHECKPOINT_RESTORE)";
  case ESRCH:
    return " (the thread is not in a ptrace-stop of ours)";
  default:
    return "";
  }
}

/* Filter INDEX of TID into CODE (BPF_MAXINSNS long): its length, 0 when
   there is no such filter, -1 on error.  Index 0 is the oldest filter, the
   first installed (ptrace(2) says the opposite; the kernel disagrees).  */
static long
get_filter (pid_t tid, unsigned long index, struct sock_filter *code)
{
  long n = ptrace (PTRACE_SECCOMP_GET_FILTER, tid, (void *)index, code);
  if (n < 0 && errno == ENOENT)
    return 0;
  if (n < 0) {
    int err = errno;
    return ulp_fail ("PTRACE_SECCOMP_GET_FILTER %lu on thread %d: %s%s", index,
                     (int)tid, strerror (err), get_filter_hint (err));
  }
  if (n == 0 || n > BPF_MAXINSNS)
    return ulp_fail ("PTRACE_SECCOMP_GET_FILTER %lu on thread %d: %ld "
                     "instructions",
                     index, (int)tid, n);
  return n;
}

/* Folds the result of one filter into ACTIONS, one per probe.  Returns 0 if
   the filter cannot be evaluated.  Filters come oldest first, and on equal
   precedence the kernel keeps the newest filter's value (its errno, say).  */
static int
apply_filter (const struct sock_filter *code, size_t len,
              const struct ulp_syscall_probe *probes, size_t n, uint64_t ip,
              uint32_t *actions)
{
  for (size_t i = 0; i < n; i++) {
    struct seccomp_data data = probe_data (&probes[i], ip);
    int64_t ret = ulp_seccomp_run_filter (code, len, &data);
    if (ret < 0)
      return 0;
    if (precedence ((uint32_t)ret) <= precedence (actions[i]))
      actions[i] = (uint32_t)ret;
  }
  return 1;
}

/* Runs every filter of TID on every probe.  Returns 1 with ACTIONS set, 0
   when a filter cannot be evaluated, -1 on error.  */
static int
run_filters (pid_t tid, const struct ulp_syscall_probe *probes, size_t n,
             uint64_t ip, uint32_t *actions)
{
  struct sock_filter *code = malloc (BPF_MAXINSNS * sizeof *code);
  if (!code)
    return ulp_fail ("out of memory");
  for (size_t i = 0; i < n; i++)
    actions[i] = SECCOMP_RET_ALLOW;
  int result = 1;
  for (unsigned long index = 0; result == 1; index++) {
    long len = get_filter (tid, index, code);
    if (len <= 0) {
      result = len < 0 ? -1 : 1;
      break;
    }
    result = apply_filter (code, (size_t)len, probes, n, ip, actions);
  }
  free (code);
  return result;
}

static int
check_filters (pid_t tid, const struct ulp_syscall_probe *probes, size_t n,
               uint64_t ip, char *why, size_t len)
{
  uint32_t *actions = malloc (n * sizeof *actions);
  if (!actions)
    return ulp_fail ("out of memory");
  int result = run_filters (tid, probes, n, ip, actions);
  if (result == 0)
    set_reason (why, len, "its seccomp filter could not be evaluated");
  for (size_t i = 0; result == 1 && i < n; i++)
    if (!action_allows (actions[i])) {
      char action[64];
      describe_action (actions[i], action, sizeof action);
      refuse (why, len, "filter", action, probes[i].nr);
      result = 0;
    }
  free (actions);
  return result;
}

int
ulp_seccomp_check (pid_t tid, const struct ulp_syscall_probe *probes, size_t n,
                   uint64_t ip, char *why, size_t len)
{
  int mode = 0;
  if (read_seccomp_mode (tid, &mode) < 0)
    return -1;
  if (mode == SECCOMP_MODE_DISABLED || n == 0)
    return 1;
  if (mode == SECCOMP_MODE_STRICT)
    return check_strict (probes, n, why, len);
  if (mode == SECCOMP_MODE_FILTER)
    return check_filters (tid, probes, n, ip, why, len);
  /* 3 is the kernel's SECCOMP_MODE_DEAD: the thread is being killed.  */
  if (why && len > 0)
    snprintf (why, len, "its seccomp mode is %d (being killed?)", mode);
  return 0;
}
