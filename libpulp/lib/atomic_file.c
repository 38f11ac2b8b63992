#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "atomic_file.h"
#include "error.h"

/* PATH, or when it is a symbolic link the file it leads to: the link
   stays, what it points at is replaced.  */
static char *
file_behind (const char *path)
{
  struct stat st;
  char *resolved;
  if (lstat (path, &st) == 0 && S_ISLNK (st.st_mode)
      && (resolved = realpath (path, NULL)))
    return resolved;
  return strdup (path);
}

int
ulp_file_begin (const char *path, mode_t mode, struct ulp_pending_file *f)
{
  f->path = file_behind (path);
  size_t n = (f->path ? strlen (f->path) : 0) + 16;
  f->tmp_path = malloc (n);
  f->fd = -1;
  if (!f->path || !f->tmp_path) {
    ulp_file_finish (f, 0);
    return ulp_fail ("out of memory");
  }
  snprintf (f->tmp_path, n, "%s.ulpXXXXXX", f->path);
  f->fd = mkostemp (f->tmp_path, O_CLOEXEC);
  if (f->fd < 0 || fchmod (f->fd, mode) != 0) {
    int saved = errno;
    ulp_file_finish (f, 0);
    return ulp_fail ("%s: cannot create a file beside it: %s", path,
                     strerror (saved));
  }
  return 0;
}

int
ulp_file_finish (struct ulp_pending_file *f, int ok)
{
  int rc = -1;
  if (f->fd >= 0) {
    ok = ok && fsync (f->fd) == 0;
    ok = close (f->fd) == 0 && ok;
    if (ok && rename (f->tmp_path, f->path) == 0)
      rc = 0;
    else {
      unlink (f->tmp_path);
      ulp_fail ("%s: cannot replace: %s", f->path,
                ok ? strerror (errno) : "write failed");
    }
  }
  free (f->tmp_path);
  free (f->path);
  f->fd = -1;
  f->tmp_path = f->path = NULL;
  return rc;
}

int
ulp_file_replace (const char *path, const uint8_t *data, size_t len,
                  mode_t mode)
{
  struct ulp_pending_file f;
  if (ulp_file_begin (path, mode, &f) < 0)
    return -1;
  size_t done = 0;
  while (done < len) {
    ssize_t n = write (f.fd, data + done, len - done);
    if (n <= 0)
      break;
    done += (size_t)n;
  }
  return ulp_file_finish (&f, done == len);
}
