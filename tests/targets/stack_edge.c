/* stack_edge FILE ROOM: the main thread moves to a stack of its own, 64 KiB
   above a PROT_NONE guard region (as a thread library makes them), uses it
   up to ROOM bytes above the guard, and from there every 10 ms writes
   "MESSAGE VALUE" to FILE (through a rename) with raw system calls, which
   take almost no stack.  A tool that makes the thread run code of its own
   must not put what the thread reads into the guard region.  */
#include <alloca.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

#define GUARD 65536
#define STACK 65536

const char *demo_message (void);
int demo_value (int x);

static const char *file;
static char tmp[4096], line[128];
static size_t room;
static char *stack_low;

/* Takes a few words of stack: static buffers, raw system calls.  */
static void
loop (void)
{
  for (;;) {
    const char *m = demo_message ();
    int v = demo_value (1), n = 0;
    while (m[n] && n < 100) {
      line[n] = m[n];
      n++;
    }
    line[n++] = ' ';
    line[n++] = (char)('0' + v / 10 % 10);
    line[n++] = (char)('0' + v % 10);
    line[n++] = '\n';
    int fd = (int)syscall (SYS_open, tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    syscall (SYS_write, fd, line, n);
    syscall (SYS_close, fd);
    syscall (SYS_rename, tmp, file);
    static struct timespec ts = { 0, 10000000 };
    syscall (SYS_nanosleep, &ts, NULL);
  }
}

static void
edge (void)
{
  /* Lazy binding takes kilobytes of stack (the vector registers are
     saved): bound here, while there is room.  */
  demo_message ();
  demo_value (1);
  syscall (SYS_getpid);
  char here;
  volatile char *gap = alloca ((size_t)(&here - stack_low) - room);
  gap[0] = 0;
  loop ();
}

int
main (int argc, char **argv)
{
  static ucontext_t back, there;
  if (argc != 3)
    return 2;
  file = argv[1];
  room = (size_t)atol (argv[2]);
  snprintf (tmp, sizeof tmp, "%s.tmp", file);
  char *area = mmap (NULL, GUARD + STACK, PROT_NONE,
                     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (area == MAP_FAILED
      || mprotect (area + GUARD, STACK, PROT_READ | PROT_WRITE) != 0)
    return 1;
  stack_low = area + GUARD;
  getcontext (&there);
  there.uc_stack.ss_sp = stack_low;
  there.uc_stack.ss_size = STACK;
  there.uc_link = &back;
  makecontext (&there, edge, 0);
  swapcontext (&back, &there);
  return 1;
}
