/* Named points where a test can have the tool die, to prove what the
   comments say holds when it dies right there: with ULP_FAILPOINT=NAME in
   the environment, the tool kills itself with SIGKILL on reaching NAME;
   with ULP_FAILPOINT=NAME:stop it stops itself (SIGSTOP) there, so that a
   test can act at that instant and then let it go on (SIGCONT).  */
#ifndef ULP_FAILPOINT_H
#define ULP_FAILPOINT_H

void ulp_failpoint (const char *name);

#endif
