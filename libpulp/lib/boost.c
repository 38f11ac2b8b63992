#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "boost.h"

#define SLOTS 1024
#define STACK_SIZE 16384

/* The kernel's struct sched_attr as of its first version (glibc 2.36 has
   none, and the kernel's header clashes with <sched.h>).  */
struct sched_attr_v0
{
  uint32_t size, policy;
  uint64_t flags;
  int32_t nice;
  uint32_t priority;
  uint64_t runtime, deadline, period;
};
#define RESET_ON_FORK 0x01 /* SCHED_FLAG_RESET_ON_FORK */

/* What the guardian restores: written by the tool, read by the guardian
   once the tool is gone (it shares this memory).  A slot is in use while
   its tid is not 0.  */
static struct
{
  pid_t tid;
  struct sched_attr_v0 own;
} raised[SLOTS];
static int free_slots[SLOTS], nfree;
static int pipe_out = -1; /* the tool's end: the guardian waits for it */
static int active, denied;
static char *stacks; /* the launcher's, then the guardian's */
/* The guardian's tid while it runs: the kernel sets it when the guardian
   is made and clears it when it exits.  */
static pid_t guardian_tid;

/* The guardian uses no library function: it shares the tool's thread-local
   storage (errno) with the thread that made it.  */
static long
raw_call (long nr, long a, long b, long c)
{
  long ret;
  __asm__ volatile("syscall"
                   : "=a"(ret)
                   : "a"(nr), "D"(a), "S"(b), "d"(c)
                   : "rcx", "r11", "memory");
  return ret;
}

/* Keeps only the pipe's end FD, waits until the tool's end is closed
   (the tool ended, however), restores what is still recorded.  */
static int
guard (void *arg)
{
  int fd = (int)(long)arg;
  char byte;
  long got;
  if (fd > 0)
    raw_call (SYS_close_range, 0, fd - 1, 0);
  raw_call (SYS_close_range, fd + 1, ~0U, 0);
  do
    got = raw_call (SYS_read, fd, (long)&byte, 1);
  while (got > 0 || got == -EINTR);
  for (int i = 0; i < SLOTS; i++) {
    pid_t tid = __atomic_load_n (&raised[i].tid, __ATOMIC_ACQUIRE);
    if (tid)
      raw_call (SYS_sched_setattr, tid, (long)&raised[i].own, 0);
  }
  raw_call (SYS_exit, 0, 0, 0);
  return 0;
}

/* Makes the guardian and exits at once: the guardian is then nobody's
   child in this process, so the tool's waits never see it, and init (or
   the nearest subreaper) reaps it.  */
static int
launch (void *arg)
{
  clone (guard, stacks + 2 * STACK_SIZE,
         CLONE_VM | CLONE_PARENT_SETTID | CLONE_CHILD_CLEARTID | SIGCHLD, arg,
         &guardian_tid, NULL, &guardian_tid);
  return 0;
}

/* A guardian of an earlier run still on its stack: waits for it a while,
   else leaves it that stack for good.  */
static void
wait_for_last_guardian (void)
{
  for (int i = 0; i < 100; i++) {
    pid_t tid = __atomic_load_n (&guardian_tid, __ATOMIC_ACQUIRE);
    if (!tid)
      return;
    struct timespec ts = { 0, 10000000 };
    syscall (SYS_futex, &guardian_tid, FUTEX_WAIT, tid, &ts, NULL, 0);
  }
  stacks = NULL;
}

static int
start_guardian (int fd)
{
  int status;
  wait_for_last_guardian ();
  if (!stacks) {
    stacks = mmap (NULL, 2 * STACK_SIZE, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
    if (stacks == MAP_FAILED) {
      stacks = NULL;
      return -1;
    }
  }
  guardian_tid = 0;
  pid_t launcher = clone (launch, stacks + STACK_SIZE, CLONE_VM | CLONE_VFORK,
                          (void *)(long)fd);
  if (launcher < 0)
    return -1;
  waitpid (launcher, &status, __WALL);
  return __atomic_load_n (&guardian_tid, __ATOMIC_ACQUIRE) > 0 ? 0 : -1;
}

int
ulp_boost_start (void)
{
  int fds[2];
  if (denied || active)
    return -1;
  if (pipe2 (fds, O_CLOEXEC) != 0)
    return -1;
  memset (raised, 0, sizeof raised);
  for (nfree = 0; nfree < SLOTS; nfree++)
    free_slots[nfree] = SLOTS - 1 - nfree;
  int rc = start_guardian (fds[0]);
  close (fds[0]);
  if (rc < 0) {
    close (fds[1]);
    return -1;
  }
  pipe_out = fds[1];
  active = 1;
  return 0;
}

static void
forget (int slot)
{
  __atomic_store_n (&raised[slot].tid, 0, __ATOMIC_RELEASE);
  free_slots[nfree++] = slot;
}

static int
get_attr (pid_t tid, struct sched_attr_v0 *a)
{
  return (int)syscall (SYS_sched_getattr, tid, a, sizeof *a, 0);
}

static int
set_attr (pid_t tid, const struct sched_attr_v0 *a)
{
  return (int)syscall (SYS_sched_setattr, tid, a, 0);
}

/* A thread of a time-sharing policy (others have their own priority):
   its own attributes, to put back.  */
static int
time_shared (pid_t tid, struct sched_attr_v0 *own)
{
  memset (own, 0, sizeof *own);
  if (get_attr (tid, own) != 0)
    return 0;
  own->size = sizeof *own;
  return own->policy == SCHED_OTHER || own->policy == SCHED_BATCH
         || own->policy == SCHED_IDLE;
}

int
ulp_boost_raise (pid_t tid)
{
  struct sched_attr_v0 raise = { .size = sizeof raise,
                                 .policy = SCHED_FIFO,
                                 .flags = RESET_ON_FORK,
                                 .priority = 1 };
  if (!active || denied || !nfree)
    return 0;
  int slot = free_slots[nfree - 1];
  if (!time_shared (tid, &raised[slot].own))
    return 0;
  nfree--;
  __atomic_store_n (&raised[slot].tid, tid, __ATOMIC_RELEASE);
  if (set_attr (tid, &raise) == 0)
    return slot + 1;
  if (errno == EPERM)
    denied = 1; /* no CAP_SYS_NICE: never tried again */
  forget (slot);
  return 0;
}

void
ulp_boost_restore (int handle)
{
  if (handle <= 0 || handle > SLOTS || !raised[handle - 1].tid)
    return;
  set_attr (raised[handle - 1].tid, &raised[handle - 1].own);
  forget (handle - 1);
}

void
ulp_boost_end (void)
{
  if (!active)
    return;
  for (int i = 0; i < SLOTS; i++)
    if (raised[i].tid)
      ulp_boost_restore (i + 1);
  close (pipe_out);
  pipe_out = -1;
  active = 0;
}
