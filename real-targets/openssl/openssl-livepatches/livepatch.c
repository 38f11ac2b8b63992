/* The live patch of CVE-2024-5535 for the livepatchable OpenSSL of
   ../build.sh, written for this project: SSL_select_next_proto takes the
   client's first protocol as the default only when the client list holds
   one, and walks both lists without reading past either.  */
#include <string.h>
#define NPN_NEGOTIATED 1
#define NPN_NO_OVERLAP 2
int
SSL_select_next_proto_fixed (unsigned char **out, unsigned char *outlen,
                             const unsigned char *server,
                             unsigned int server_len,
                             const unsigned char *client,
                             unsigned int client_len)
{
  if (client_len == 0 || client[0] == 0 || client[0] > client_len - 1) {
    *out = NULL;
    *outlen = 0;
    return NPN_NO_OVERLAP;
  }
  *out = (unsigned char *)client + 1;
  *outlen = client[0];
  for (unsigned i = 0; i < server_len && server[i] <= server_len - i - 1;
       i += server[i] + 1u)
    for (unsigned j = 0; j < client_len && client[j] <= client_len - j - 1;
         j += client[j] + 1u)
      if (server[i] && client[j] == server[i]
          && memcmp (server + i + 1, client + j + 1, server[i]) == 0) {
        *out = (unsigned char *)server + i + 1;
        *outlen = server[i];
        return NPN_NEGOTIATED;
      }
  return NPN_NO_OVERLAP;
}
