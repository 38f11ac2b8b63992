/* Packs fine, but the loader refuses it: the symbol exists nowhere.  */
extern const char *no_such_symbol_anywhere (void);

const char *
demo_message_unloadable (void)
{
  return no_such_symbol_anywhere ();
}
