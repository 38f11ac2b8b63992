/* Prints the library's greeting twice a second, forever.  */
#include <stdio.h>
#include <unistd.h>

const char *greeting (void);

int
main (void)
{
  for (unsigned n = 1;; n++) {
    printf ("[greeter %d] #%u %s\n", (int)getpid (), n, greeting ());
    fflush (stdout);
    usleep (500000);
  }
}
