/* tls_client PORT_FILE COUNT_FILE: handshakes with tls_server in a loop
   (connect, TLS handshake offering the protocols h2 and http/1.1, which
   must pick h2, one byte there and back, close), its sockets
   carrying 30 s SO_RCVTIMEO and SO_SNDTIMEO, and keeps COUNT_FILE at
   "ok N failed M" (rewritten every 20 handshakes, at every failure and at
   SIGTERM, after which it finishes the handshake under way and exits).  A
   failure is also described on standard error.  */
#include <arpa/inet.h>
#include <errno.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "replace_file.h"

/* Whether SIGTERM (blocked) has come.  */
static int
told_to_stop (void)
{
  sigset_t pending;
  return sigpending (&pending) == 0 && sigismember (&pending, SIGTERM);
}

static int
picked_h2 (SSL *ssl)
{
  const unsigned char *protocol;
  unsigned int length;
  SSL_get0_alpn_selected (ssl, &protocol, &length);
  if (length == 2 && memcmp (protocol, "h2", 2) == 0)
    return 1;
  fprintf (stderr, "tls_client: the server picked '%.*s', not h2\n",
           (int)length, protocol ? (const char *)protocol : "");
  return 0;
}

static int
handshake_once (SSL_CTX *ctx, int port)
{
  int fd = socket (AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in addr
      = { .sin_family = AF_INET, .sin_port = htons ((unsigned short)port) };
  addr.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
  struct timeval thirty = { .tv_sec = 30 };
  setsockopt (fd, SOL_SOCKET, SO_RCVTIMEO, &thirty, sizeof thirty);
  setsockopt (fd, SOL_SOCKET, SO_SNDTIMEO, &thirty, sizeof thirty);
  SSL *ssl = SSL_new (ctx);
  char byte = 'x', back = 0;
  int ok = fd >= 0 && connect (fd, (struct sockaddr *)&addr, sizeof addr) == 0
           && SSL_set_fd (ssl, fd) == 1 && SSL_connect (ssl) == 1
           && picked_h2 (ssl) && SSL_write (ssl, &byte, 1) == 1
           && SSL_read (ssl, &back, 1) == 1 && back == byte;
  if (!ok) {
    fprintf (stderr, "tls_client: failed handshake (errno %d: %s)\n", errno,
             strerror (errno));
    ERR_print_errors_fp (stderr);
  }
  SSL_shutdown (ssl);
  SSL_free (ssl);
  close (fd);
  return ok;
}

static void
write_counts (const char *file, unsigned long ok, unsigned long failed)
{
  char counts[64];
  snprintf (counts, sizeof counts, "ok %lu failed %lu\n", ok, failed);
  replace_file (file, counts);
}

int
main (int argc, char **argv)
{
  if (argc != 3) {
    fprintf (stderr, "usage: tls_client PORT_FILE COUNT_FILE\n");
    return 2;
  }
  FILE *f = fopen (argv[1], "r");
  int port = 0;
  if (!f || fscanf (f, "%d", &port) != 1) {
    fprintf (stderr, "tls_client: no port in %s\n", argv[1]);
    return 1;
  }
  fclose (f);
  /* SIGTERM stays pending until the handshake under way is done (a
     handler would interrupt its socket calls, which have timeouts and so
     never restart), so that the server never sees a client vanish.  */
  sigset_t term;
  sigemptyset (&term);
  sigaddset (&term, SIGTERM);
  sigprocmask (SIG_BLOCK, &term, NULL);
  SSL_CTX *ctx = SSL_CTX_new (TLS_client_method ());
  static const unsigned char offered[] = "\x08http/1.1\x02h2";
  SSL_CTX_set_alpn_protos (ctx, offered, sizeof offered - 1);
  unsigned long ok = 0, failed = 0;
  while (!told_to_stop ()) {
    if (handshake_once (ctx, port))
      ok++;
    else
      failed++;
    if ((ok + failed) % 20 == 0 || failed)
      write_counts (argv[2], ok, failed);
  }
  write_counts (argv[2], ok, failed);
  return 0;
}
