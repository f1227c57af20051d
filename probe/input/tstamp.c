#include "tstamp.h"

#include <string.h>

static const char *chosen;
static int chosen_val = PCAP_TSTAMP_HOST;
static bool refused;

void tstamp_set_type(const char *name)
{
    chosen = name;
    chosen_val = name ? pcap_tstamp_type_name_to_val(name) : PCAP_TSTAMP_HOST;
}

bool tstamp_was_refused(void)
{
    return refused;
}

/* libpcap lists nothing where only its default, host, can be had. */
static int offered_types(pcap_t *p, int **types)
{
    int n = pcap_list_tstamp_types(p, types);
    return n < 0 ? 0 : n;
}

/* "host, adapter, adapter_unsynced", for messages. */
static void offered_names(pcap_t *p, char *out, size_t outlen)
{
    int *types = NULL;
    int n = offered_types(p, &types);
    size_t used = 0;
    out[0] = '\0';
    for (int i = 0; i < n; i++) {
        const char *name = pcap_tstamp_type_val_to_name(types[i]);
        int w = snprintf(out + used, outlen - used, "%s%s", i ? ", " : "", name ? name : "?");
        if (w < 0 || (size_t)w >= outlen - used)
            break;
        used += (size_t)w;
    }
    if (n == 0)
        snprintf(out, outlen, "only host, the default");
    pcap_free_tstamp_types(types);
}

static bool offers(pcap_t *p, int val)
{
    int *types = NULL;
    int n = offered_types(p, &types);
    bool found = n == 0 && val == PCAP_TSTAMP_HOST;
    for (int i = 0; i < n && !found; i++)
        found = types[i] == val;
    pcap_free_tstamp_types(types);
    return found;
}

static void say_not_offered(pcap_t *p, const char *iface, const char *why, char *err, size_t errlen)
{
    char names[256];
    offered_names(p, names, sizeof names);
    snprintf(err, errlen, "--timestamp-type %s: %s; %s offers %s (see --timestamp-type list)",
             chosen, why, iface, names);
}

int tstamp_list(const char *iface, FILE *out, char *err, size_t errlen)
{
    char ebuf[PCAP_ERRBUF_SIZE] = "";
    pcap_t *p = pcap_create(iface, ebuf);
    if (!p) {
        snprintf(err, errlen, "cannot look at %s: %s", iface, ebuf);
        return -1;
    }
    int *types = NULL;
    int n = offered_types(p, &types);
    for (int i = 0; i < n; i++) {
        const char *desc = pcap_tstamp_type_val_to_description(types[i]);
        fprintf(out, "%s\t%s\n", pcap_tstamp_type_val_to_name(types[i]), desc ? desc : "");
    }
    if (n == 0)
        fprintf(out, "host\t%s (the only one %s offers)\n",
                pcap_tstamp_type_val_to_description(PCAP_TSTAMP_HOST), iface);
    pcap_free_tstamp_types(types);
    pcap_close(p);
    return 0;
}

int tstamp_check(const char *iface, char *err, size_t errlen)
{
    if (!chosen)
        return 0;
    char ebuf[PCAP_ERRBUF_SIZE] = "";
    pcap_t *p = pcap_create(iface, ebuf);
    if (!p)
        return 0;
    int rc = 0;
    if (chosen_val < 0) {
        say_not_offered(p, iface, "no such time stamp type", err, errlen);
        rc = -1;
    } else if (!offers(p, chosen_val)) {
        say_not_offered(p, iface, "not offered", err, errlen);
        rc = -1;
    }
    refused = rc < 0;
    pcap_close(p);
    return rc;
}

int tstamp_request(pcap_t *p, const char *iface, char *err, size_t errlen)
{
    if (!chosen)
        return 0;
    int rc = chosen_val < 0 ? PCAP_ERROR : pcap_set_tstamp_type(p, chosen_val);
    if (rc == 0)
        return 0;
    say_not_offered(p, iface, rc == PCAP_WARNING_TSTAMP_TYPE_NOTSUP ? "not offered" : "cannot be set",
                    err, errlen);
    refused = true;
    return -1;
}

bool tstamp_refused(pcap_t *p, int rc, const char *iface, char *err, size_t errlen)
{
    if (!chosen || (rc != PCAP_WARNING_TSTAMP_TYPE_NOTSUP && rc != PCAP_ERROR_CANTSET_TSTAMP_TYPE))
        return false;
    say_not_offered(p, iface, rc == PCAP_ERROR_CANTSET_TSTAMP_TYPE ? "the driver cannot set it"
                              : "not supported by the interface", err, errlen);
    refused = true;
    return true;
}
