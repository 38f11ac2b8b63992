/* What the helper's two modes share: the %post/%postun calls
   (ulp_post_hook.c) and the rpm plugin's transaction (transaction.c).  */
#ifndef ULP_POST_HOOK_H
#define ULP_POST_HOOK_H

/* ulp_post_hook transaction ...: see transaction.c.  */
int run_transaction (int argc, char **argv);

#endif
