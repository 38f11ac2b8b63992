/* tls_server CERT KEY PORT_FILE PROBE_FILE: a long-running TLS server on
   127.0.0.1 (the port it got is written to PORT_FILE) that answers every
   client's byte with the same byte, its accepted sockets carrying 30 s
   SO_RCVTIMEO and SO_SNDTIMEO as real servers set them.  It picks the
   application protocol (ALPN) with SSL_select_next_proto, as servers do,
   so that every handshake runs the function CVE-2024-5535 is in.  Unless
   PROBE_FILE is "-", a second thread probes, every 100 ms, the two bugs the
   live patches of this folder fix, in the running process itself, and rewrites
   PROBE_FILE with:

     npn: signal 11   SSL_select_next_proto read past an empty client
                      list put at the end of a page (CVE-2024-5535; in a
                      child forked from the process: it runs the same code)
     npn: exit 20     ... it answered "no overlap" with length 0 (fixed)
     x400: equal      GENERAL_NAME_cmp calls two different x400Addresses
                      equal (CVE-2023-0286: compared as ASN1_TYPE)
     x400: differ     ... it tells them apart (fixed)
     host: checked    X509_check_host checks "localhost\0.evil.example"
                      against the server's certificate (no match)
     host: refused    ... it refuses the name as malformed (-2, fixed)

   Failed handshakes are counted on standard error.  */
#include <arpa/inet.h>
#include <errno.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "replace_file.h"

static const char *probe_file;
static X509 *certificate;

static const char *
npn_probe (const unsigned char *empty_list_at_page_end)
{
  static char line[64];
  static const unsigned char server[] = "\x02h2";
  pid_t child = fork ();
  if (child == 0) {
    unsigned char *out;
    unsigned char outlen;
    int verdict = SSL_select_next_proto (&out, &outlen, server, 3,
                                         empty_list_at_page_end, 0);
    _exit (verdict * 10 + outlen);
  }
  int status;
  if (child < 0 || waitpid (child, &status, 0) != child)
    return "npn: no probe";
  if (WIFSIGNALED (status))
    snprintf (line, sizeof line, "npn: signal %d", WTERMSIG (status));
  else
    snprintf (line, sizeof line, "npn: exit %d", WEXITSTATUS (status));
  return line;
}

static GENERAL_NAME *
x400_name (const char *bytes)
{
  GENERAL_NAME *name = GENERAL_NAME_new ();
  ASN1_STRING *address = ASN1_STRING_type_new (V_ASN1_SEQUENCE);
  ASN1_STRING_set (address, bytes, (int)strlen (bytes));
  GENERAL_NAME_set0_value (name, GEN_X400, address);
  return name;
}

static const char *
host_probe (void)
{
  static const char host[] = "localhost\0.evil.example";
  int verdict = X509_check_host (certificate, host, sizeof host - 1, 0, NULL);
  return verdict == -2 ? "refused" : "checked";
}

static void *
probe_loop (void *unused)
{
  (void)unused;
  unsigned char *pages = mmap (NULL, 8192, PROT_READ | PROT_WRITE,
                               MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  mprotect (pages + 4096, 4096, PROT_NONE);
  /* Five bytes each: read as an ASN1_TYPE, both are V_ASN1_NULL.  */
  GENERAL_NAME *a = x400_name ("alpha"), *b = x400_name ("omega");
  for (;;) {
    const char *npn = npn_probe (pages + 4096);
    const char *x400 = GENERAL_NAME_cmp (a, b) == 0 ? "equal" : "differ";
    char report[128];
    snprintf (report, sizeof report, "%s\nx400: %s\nhost: %s\n", npn, x400,
              host_probe ());
    replace_file (probe_file, report);
    usleep (100000);
  }
  return NULL;
}

static int
listen_on_loopback (const char *port_file)
{
  int fd = socket (AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in addr = { .sin_family = AF_INET };
  addr.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (fd < 0 || bind (fd, (struct sockaddr *)&addr, sizeof addr) != 0
      || listen (fd, 128) != 0
      || getsockname (fd, (struct sockaddr *)&addr, &len) != 0) {
    perror ("tls_server: listen");
    exit (1);
  }
  FILE *f = fopen (port_file, "w");
  fprintf (f, "%d\n", ntohs (addr.sin_port));
  fclose (f);
  return fd;
}

static void
set_socket_timeouts (int fd)
{
  struct timeval thirty = { .tv_sec = 30 };
  setsockopt (fd, SOL_SOCKET, SO_RCVTIMEO, &thirty, sizeof thirty);
  setsockopt (fd, SOL_SOCKET, SO_SNDTIMEO, &thirty, sizeof thirty);
}

static int
select_protocol (SSL *ssl, const unsigned char **out, unsigned char *outlen,
                 const unsigned char *client, unsigned int client_len,
                 void *unused)
{
  (void)ssl, (void)unused;
  static const unsigned char ours[] = "\x02h2\x08http/1.1";
  unsigned char *chosen;
  if (SSL_select_next_proto (&chosen, outlen, ours, sizeof ours - 1, client,
                             client_len)
      != OPENSSL_NPN_NEGOTIATED)
    return SSL_TLSEXT_ERR_ALERT_FATAL;
  *out = chosen;
  return SSL_TLSEXT_ERR_OK;
}

static int
serve_one (SSL_CTX *ctx, int fd)
{
  SSL *ssl = SSL_new (ctx);
  char byte;
  int ok = SSL_set_fd (ssl, fd) == 1 && SSL_accept (ssl) == 1
           && SSL_read (ssl, &byte, 1) == 1 && SSL_write (ssl, &byte, 1) == 1;
  if (!ok) {
    fprintf (stderr, "tls_server: failed handshake (errno %d)\n", errno);
    ERR_print_errors_fp (stderr);
  }
  SSL_shutdown (ssl);
  SSL_free (ssl);
  return ok;
}

int
main (int argc, char **argv)
{
  if (argc != 5) {
    fprintf (stderr, "usage: tls_server CERT KEY PORT_FILE PROBE_FILE\n");
    return 2;
  }
  probe_file = argv[4];
  SSL_CTX *ctx = SSL_CTX_new (TLS_server_method ());
  if (!ctx || SSL_CTX_use_certificate_chain_file (ctx, argv[1]) != 1
      || SSL_CTX_use_PrivateKey_file (ctx, argv[2], SSL_FILETYPE_PEM) != 1) {
    ERR_print_errors_fp (stderr);
    return 1;
  }
  SSL_CTX_set_alpn_select_cb (ctx, select_protocol, NULL);
  certificate = SSL_CTX_get0_certificate (ctx);
  pthread_t prober;
  if (strcmp (probe_file, "-") != 0)
    pthread_create (&prober, NULL, probe_loop, NULL);
  int listener = listen_on_loopback (argv[3]);
  unsigned long failed = 0;
  for (;;) {
    int fd = accept (listener, NULL, NULL);
    if (fd < 0) {
      fprintf (stderr, "tls_server: accept: %s\n", strerror (errno));
      continue;
    }
    set_socket_timeouts (fd);
    if (!serve_one (ctx, fd))
      fprintf (stderr, "tls_server: %lu failed\n", ++failed);
    close (fd);
  }
}
