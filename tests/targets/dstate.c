/* dstate OUT SECONDS: the main thread runs tr_loop (see tr_loop.h); on
   each SIGUSR1 another thread blocks in uninterruptible sleep (D state):
   it vmsplices a page that is registered with userfaultfd and missing, and
   the main thread fills the page SECONDS later.  Exits 77 when
   userfaultfd is not available.  */
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <stdatomic.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/uio.h>

#include "tr_loop.h"

static int uffd;
static double seconds;
static _Atomic (char *) missing;
static _Atomic double blocked_since;

static char *
missing_page (void)
{
  char *page = mmap (NULL, 4096, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  struct uffdio_register r = { .range = { (unsigned long)page, 4096 },
                               .mode = UFFDIO_REGISTER_MODE_MISSING };
  if (page == MAP_FAILED || ioctl (uffd, UFFDIO_REGISTER, &r) != 0) {
    perror ("userfaultfd register");
    exit (1);
  }
  return page;
}

static void *
blocker (void *arg)
{
  sigset_t set;
  int sig, fds[2];
  (void)arg;
  sigemptyset (&set);
  sigaddset (&set, SIGUSR1);
  if (pipe (fds) != 0)
    exit (1);
  for (;;) {
    sigwait (&set, &sig);
    char *page = missing_page ();
    struct iovec iov = { page, 16 };
    char sink[16];
    missing = page;
    blocked_since = tr_now ();
    vmsplice (fds[1], &iov, 1, 0); /* D state until the page is filled */
    if (read (fds[0], sink, sizeof sink) < 0)
      exit (1);
  }
  return NULL;
}

static void
fill_when_due (double now)
{
  static char zeros[4096] __attribute__ ((aligned (4096)));
  char *page = missing;
  if (!page || now - blocked_since < seconds)
    return;
  struct uffdio_copy c = { .dst = (unsigned long)page,
                           .src = (unsigned long)zeros,
                           .len = 4096 };
  ioctl (uffd, UFFDIO_COPY, &c);
  missing = NULL;
}

int
main (int argc, char **argv)
{
  pthread_t t;
  if (argc != 3)
    return 2;
  seconds = atof (argv[2]);
  uffd = (int)syscall (SYS_userfaultfd, O_CLOEXEC);
  struct uffdio_api api = { .api = UFFD_API };
  if (uffd < 0 || ioctl (uffd, UFFDIO_API, &api) != 0) {
    perror ("userfaultfd");
    return 77;
  }
  tr_block_usr1 ();
  pthread_create (&t, NULL, blocker, NULL);
  tr_loop (argv[1], "", 1, 0, fill_when_due);
  return 0;
}
