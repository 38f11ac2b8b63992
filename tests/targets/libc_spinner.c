/* libc_spinner NTHREADS: threads that spend their time inside malloc and
   free (libc), plus demo_message calls; a borrowed thread must never be one
   caught inside libc.  */
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

const char *demo_message (void);

static void *
churn (void *arg)
{
  (void)arg;
  for (;;) {
    void *p = malloc (64 + (rand () & 1023));
    free (p);
    demo_message ();
  }
  return NULL;
}

int
main (int argc, char **argv)
{
  int n = argc > 1 ? atoi (argv[1]) : 2;
  for (int i = 0; i < n; i++) {
    pthread_t t;
    pthread_create (&t, NULL, churn, NULL);
  }
  churn (NULL);
  return 0;
}
