/* ulp-catalog dist OUTPUT.tar.xz PREFIX FILE...: a source tarball that is
   the same bytes every time for the same files: entries sorted by name,
   owner root, mode 0644 or 0755, mtime $SOURCE_DATE_EPOCH (default 0),
   ustar format, xz at a fixed level on one thread.  */
#include <archive.h>
#include <archive_entry.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "atomic_file.h"
#include "error.h"
#include "tool.h"

static int
by_name (const void *a, const void *b)
{
  return strcmp (*(char *const *)a, *(char *const *)b);
}

static long long
fixed_mtime (void)
{
  const char *s = getenv ("SOURCE_DATE_EPOCH");
  return s && *s ? atoll (s) : 0;
}

static int
read_file (const char *path, struct buffer *b, mode_t *mode)
{
  struct stat st;
  FILE *f = fopen (path, "rb");
  if (!f || fstat (fileno (f), &st) != 0 || !S_ISREG (st.st_mode)) {
    if (f)
      fclose (f);
    return ulp_fail ("%s: not a readable regular file", path);
  }
  b->len = (size_t)st.st_size;
  b->data = malloc (b->len ? b->len : 1);
  int ok = b->data && fread (b->data, 1, b->len, f) == b->len;
  fclose (f);
  *mode = st.st_mode & 0111 ? 0755 : 0644;
  if (ok)
    return 0;
  free (b->data);
  b->data = NULL;
  return ulp_fail ("%s: cannot read", path);
}

static int
add_file (struct archive *a, const char *prefix, const char *path)
{
  struct buffer b = { 0 };
  mode_t mode = 0644;
  if (read_file (path, &b, &mode) < 0)
    return -1;
  char name[4096];
  snprintf (name, sizeof name, "%s/%s", prefix, path);
  struct archive_entry *e = archive_entry_new ();
  archive_entry_set_pathname (e, name);
  archive_entry_set_filetype (e, AE_IFREG);
  archive_entry_set_perm (e, mode);
  archive_entry_set_size (e, (la_int64_t)b.len);
  archive_entry_set_uid (e, 0);
  archive_entry_set_gid (e, 0);
  archive_entry_set_uname (e, "root");
  archive_entry_set_gname (e, "root");
  archive_entry_set_mtime (e, (time_t)fixed_mtime (), 0);
  int rc = archive_write_header (a, e) == ARCHIVE_OK
                   && archive_write_data (a, b.data, b.len) == (la_ssize_t)b.len
               ? 0
               : ulp_fail ("%s: %s", path, archive_error_string (a));
  archive_entry_free (e);
  buffer_free (&b);
  return rc;
}

static int
write_tarball (int fd, const char *prefix, char **files, int n)
{
  struct archive *a = archive_write_new ();
  if (!a)
    return ulp_fail ("out of memory");
  archive_write_set_format_ustar (a);
  archive_write_add_filter_xz (a);
  archive_write_set_filter_option (a, "xz", "compression-level", "6");
  archive_write_set_filter_option (a, "xz", "threads", "1");
  archive_write_set_bytes_in_last_block (a, 1);
  int rc = archive_write_open_fd (a, fd) == ARCHIVE_OK
               ? 0
               : ulp_fail ("%s", archive_error_string (a));
  for (int i = 0; rc == 0 && i < n; i++)
    rc = add_file (a, prefix, files[i]);
  if (archive_write_close (a) != ARCHIVE_OK && rc == 0)
    rc = ulp_fail ("%s", archive_error_string (a));
  archive_write_free (a);
  return rc;
}

int
cmd_dist (int argc, char **argv)
{
  if (argc < 4) {
    catalog_usage ("dist", stderr);
    return 2;
  }
  const char *output = argv[1], *prefix = argv[2];
  char **files = argv + 3;
  int n = argc - 3;
  qsort (files, (size_t)n, sizeof *files, by_name);
  struct ulp_pending_file out;
  int rc = ulp_file_begin (output, 0644, &out);
  if (rc == 0) {
    int written = write_tarball (out.fd, prefix, files, n) == 0;
    if (ulp_file_finish (&out, written) != 0 || !written)
      rc = -1;
  }
  if (rc < 0) {
    fprintf (stderr, "ulp-catalog dist: %s\n", ulp_error ());
    return 1;
  }
  return 0;
}
