/* privdrop.h — run unprivileged once what needs privileges is open. */
#ifndef NFPROBE_PRIVDROP_H
#define NFPROBE_PRIVDROP_H

#include <stddef.h>
#include <sys/types.h>

struct run_as {
    char name[64];
    uid_t uid;
    gid_t gid;
};

/* -u USER: look the user up before anything is opened, so that a typo or a
 * user that only root could become fails at once. Returns 0 or -1 with err. */
int privdrop_lookup(const char *user, struct run_as *ra, char *err, size_t errlen);

/* After the capture, the sockets and the files are open: become ra (NULL:
 * stay who we are), and unless that is root, give up every capability (a
 * live capture needs CAP_NET_RAW only to open its socket); then check that
 * neither root nor a capability can be had back. Returns 0 or -1 with err. */
int privdrop_after_open(const struct run_as *ra, char *err, size_t errlen);

#endif
