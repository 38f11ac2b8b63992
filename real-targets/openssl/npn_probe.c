/* npn_probe FILE: a long-running program that every 100 ms has a child
   call SSL_select_next_proto with an empty client list at the very end
   of a page, and writes how the child ended into FILE: "probe: signal 11"
   where the vulnerable code reads past the list (CVE-2024-5535), "probe:
   exit 20" (OPENSSL_NPN_NO_OVERLAP, length 0) where it is fixed.  The
   children are forked from it, so they run whatever code it runs.  */
#include <openssl/ssl.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>
int
main (int argc, char **argv)
{
  (void)argc;
  unsigned char *page = mmap (NULL, 8192, PROT_READ | PROT_WRITE,
                              MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  mprotect (page + 4096, 4096, PROT_NONE);
  static const unsigned char server[] = "\x02h2";
  for (;;) {
    pid_t child = fork ();
    if (child == 0) {
      unsigned char *out;
      unsigned char outlen;
      _exit (SSL_select_next_proto (&out, &outlen, server, 3, page + 4096, 0)
                 * 10
             + outlen);
    }
    int status;
    waitpid (child, &status, 0);
    FILE *f = fopen (argv[1], "w");
    fprintf (f,
             WIFSIGNALED (status) ? "probe: signal %d\n" : "probe: exit %d\n",
             WIFSIGNALED (status) ? WTERMSIG (status) : WEXITSTATUS (status));
    fclose (f);
    usleep (100000);
  }
}
