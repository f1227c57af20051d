#include "privdrop.h"

#include <errno.h>
#include <grp.h>
#include <linux/capability.h>
#include <pwd.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

int privdrop_lookup(const char *user, struct run_as *ra, char *err, size_t errlen)
{
    errno = 0;
    struct passwd *pw = getpwnam(user);
    if (!pw) {
        if (errno)
            snprintf(err, errlen, "-u %s: cannot look the user up: %s", user, strerror(errno));
        else
            snprintf(err, errlen, "-u %s: no such user (create one, e.g. useradd --system "
                     "--no-create-home --shell /usr/sbin/nologin %s)", user, user);
        return -1;
    }
    if (strlen(user) >= sizeof ra->name) {
        snprintf(err, errlen, "-u %s: user name too long", user);
        return -1;
    }
    if (geteuid() != 0 && geteuid() != pw->pw_uid) {
        snprintf(err, errlen, "-u %s: only root can switch to another user (running as uid %u)",
                 user, (unsigned)geteuid());
        return -1;
    }
    snprintf(ra->name, sizeof ra->name, "%s", user);
    ra->uid = pw->pw_uid;
    ra->gid = pw->pw_gid;
    return 0;
}

/* Supplementary groups first (they need CAP_SETGID), then the group, then
 * the user: setuid() from root to another user also empties the permitted,
 * effective and ambient capability sets. */
static int switch_user(const struct run_as *ra, char *err, size_t errlen)
{
    if (geteuid() == ra->uid && getuid() == ra->uid)
        return 0;
    const char *step = initgroups(ra->name, ra->gid) != 0 ? "initgroups"
                     : setgid(ra->gid) != 0 ? "setgid"
                     : setuid(ra->uid) != 0 ? "setuid" : NULL;
    if (step) {
        snprintf(err, errlen, "-u %s: %s failed: %s (nfprobe must start as root, or with "
                 "CAP_SETUID and CAP_SETGID)", ra->name, step, strerror(errno));
        return -1;
    }
    return 0;
}

static int capget_sets(struct __user_cap_data_struct data[2])
{
    struct __user_cap_header_struct hdr = {_LINUX_CAPABILITY_VERSION_3, 0};
    return (int)syscall(SYS_capget, &hdr, data);
}

static int clear_capabilities(char *err, size_t errlen)
{
    struct __user_cap_header_struct hdr = {_LINUX_CAPABILITY_VERSION_3, 0};
    struct __user_cap_data_struct none[2];
    memset(none, 0, sizeof none);
    /* Ambient capabilities (systemd's AmbientCapabilities=) would come back
     * in programs we start; we start none, but leave nothing behind. */
    if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0 && errno != EINVAL) {
        snprintf(err, errlen, "cannot clear the ambient capabilities: %s", strerror(errno));
        return -1;
    }
    if (syscall(SYS_capset, &hdr, none) != 0) {
        snprintf(err, errlen, "cannot give up capabilities: %s", strerror(errno));
        return -1;
    }
    return 0;
}

static bool has_capabilities(void)
{
    struct __user_cap_data_struct data[2];
    if (capget_sets(data) != 0)
        return true;
    return data[0].effective || data[0].permitted || data[1].effective || data[1].permitted;
}

static bool can_become_root(void)
{
    return setuid(0) == 0 || seteuid(0) == 0 || setgid(0) == 0 || setegid(0) == 0;
}

static int verify_unprivileged(const struct run_as *ra, char *err, size_t errlen)
{
    const char *who = ra ? ra->name : "nfprobe";
    if (ra && (getuid() != ra->uid || geteuid() != ra->uid || getgid() != ra->gid ||
               getegid() != ra->gid)) {
        snprintf(err, errlen, "-u %s: still uid %u/%u gid %u/%u after switching", who,
                 (unsigned)getuid(), (unsigned)geteuid(), (unsigned)getgid(), (unsigned)getegid());
        return -1;
    }
    if (can_become_root()) {
        snprintf(err, errlen, "%s: could become root again after giving it up", who);
        return -1;
    }
    if (has_capabilities()) {
        snprintf(err, errlen, "%s: still holds capabilities after giving them up", who);
        return -1;
    }
    return 0;
}

int privdrop_after_open(const struct run_as *ra, char *err, size_t errlen)
{
    if (ra && switch_user(ra, err, errlen) < 0)
        return -1;
    if (geteuid() == 0)
        return 0;       /* root without -u (or -u root): stays as it was asked */
    if (clear_capabilities(err, errlen) < 0)
        return -1;
    return verify_unprivileged(ra, err, errlen);
}
