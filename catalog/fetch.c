#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "error.h"
#include "tool.h"

#define MAX_DOWNLOAD ((size_t)2 << 30)
#define PROGRESS_FROM (1u << 20) /* bytes: smaller downloads stay quiet */

struct transfer
{
  struct buffer *out;
  size_t cap;
  const char *url;
  int progress, shown;
};

static size_t
take (char *data, size_t size, size_t n, void *ctx)
{
  struct transfer *t = ctx;
  size_t len = size * n;
  if (t->out->len + len > MAX_DOWNLOAD)
    return 0;
  if (t->out->len + len > t->cap) {
    size_t cap = t->cap ? t->cap * 2 : 65536;
    while (cap < t->out->len + len)
      cap *= 2;
    uint8_t *grown = realloc (t->out->data, cap);
    if (!grown)
      return 0;
    t->out->data = grown;
    t->cap = cap;
  }
  memcpy (t->out->data + t->out->len, data, len);
  t->out->len += len;
  return len;
}

static int
show_progress (void *ctx, curl_off_t total, curl_off_t now, curl_off_t ut,
               curl_off_t un)
{
  (void)ut;
  (void)un;
  struct transfer *t = ctx;
  if (!t->progress || total < (curl_off_t)PROGRESS_FROM)
    return 0;
  fprintf (stderr, "\r  %s: %3d%% of %.1f MiB", t->url,
           (int)(100 * now / total), total / 1048576.0);
  t->shown = 1;
  return 0;
}

int
fetch_url (const char *url, struct buffer *out, int progress)
{
  static int initialised;
  if (!initialised && curl_global_init (CURL_GLOBAL_DEFAULT) == 0)
    initialised = 1;
  CURL *curl = curl_easy_init ();
  if (!curl)
    return ulp_fail ("%s: cannot start a transfer", url);
  memset (out, 0, sizeof *out);
  struct transfer t = { out, 0, url, progress, 0 };
  char err[CURL_ERROR_SIZE] = "";
  curl_easy_setopt (curl, CURLOPT_URL, url);
  curl_easy_setopt (curl, CURLOPT_PROTOCOLS_STR, "file,http,https");
  curl_easy_setopt (curl, CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt (curl, CURLOPT_FAILONERROR, 1L);
  curl_easy_setopt (curl, CURLOPT_CONNECTTIMEOUT, 30L);
  curl_easy_setopt (curl, CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_easy_setopt (curl, CURLOPT_LOW_SPEED_TIME, 60L);
  curl_easy_setopt (curl, CURLOPT_ERRORBUFFER, err);
  curl_easy_setopt (curl, CURLOPT_WRITEFUNCTION, take);
  curl_easy_setopt (curl, CURLOPT_WRITEDATA, &t);
  curl_easy_setopt (curl, CURLOPT_XFERINFOFUNCTION, show_progress);
  curl_easy_setopt (curl, CURLOPT_XFERINFODATA, &t);
  curl_easy_setopt (curl, CURLOPT_NOPROGRESS, 0L);
  CURLcode rc = curl_easy_perform (curl);
  curl_easy_cleanup (curl);
  if (t.shown)
    fputc ('\n', stderr);
  if (rc != CURLE_OK) {
    buffer_free (out);
    return ulp_fail ("%s: %s", url, *err ? err : curl_easy_strerror (rc));
  }
  return 0;
}

void
buffer_free (struct buffer *b)
{
  free (b->data);
  b->data = NULL;
  b->len = 0;
}

int
buffer_memfd (const struct buffer *b, const char *name)
{
  int fd = memfd_create (name, MFD_CLOEXEC);
  if (fd < 0)
    return -1;
  for (size_t done = 0; done < b->len;) {
    ssize_t n = write (fd, b->data + done, b->len - done);
    if (n <= 0) {
      close (fd);
      return -1;
    }
    done += (size_t)n;
  }
  lseek (fd, 0, SEEK_SET);
  return fd;
}

char *
url_join (const char *base, const char *location)
{
  char *url;
  size_t n = strlen (base);
  int slash = n && base[n - 1] == '/';
  if (asprintf (&url, "%s%s%s", base, slash ? "" : "/", location) < 0)
    return NULL;
  return url;
}
