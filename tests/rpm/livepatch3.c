/* A broken livepatch: it packs and signs fine, but the loader refuses it
   in every process, since the function it calls exists nowhere.  */
extern const char *no_such_function_anywhere (void);

const char *
demo_message_lp3 (void)
{
  return no_such_function_anywhere ();
}
