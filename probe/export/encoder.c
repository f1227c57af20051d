#include "encoder.h"

#include <stdio.h>
#include <stdlib.h>

#include "netflow5.h"
#include "netflow9.h"
#include "ntopng.h"

struct encoder {
    enum export_format format;
    struct ipfix_encoder *ipfix;
    struct nf9_encoder *nf9;
    struct nf5_encoder *nf5;
    struct ntopng_encoder *ntopng;
};

struct encoder *encoder_new(const struct encoder_config *cfg, ipfix_msg_fn out, void *ctx,
                            char *err, size_t errlen)
{
    struct encoder *e = calloc(1, sizeof *e);
    if (!e) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    e->format = cfg->format;
    switch (cfg->format) {
    case FORMAT_IPFIX: {
        struct ipfix_config ic = {cfg->domain, cfg->mtu, cfg->biflow, cfg->tmpl};
        e->ipfix = ipfix_new(&ic, out, ctx, err, errlen);
        break;
    }
    case FORMAT_NETFLOW9: {
        struct nf9_config nc = {cfg->domain, cfg->mtu, cfg->refresh_packets, cfg->tmpl};
        e->nf9 = nf9_new(&nc, out, ctx, err, errlen);
        break;
    }
    case FORMAT_NETFLOW5: {
        struct nf5_config nc = {cfg->domain, cfg->mtu};
        e->nf5 = nf5_new(&nc, out, ctx, err, errlen);
        break;
    }
    case FORMAT_NTOPNG: {
        struct ntopng_config nc = {cfg->times_now, cfg->zmq_compress};
        e->ntopng = ntopng_new(&nc, out, ctx, err, errlen);
        break;
    }
    }
    if (!e->ipfix && !e->nf9 && !e->nf5 && !e->ntopng) {
        free(e);
        return NULL;
    }
    return e;
}

void encoder_free(struct encoder *e)
{
    if (!e)
        return;
    ipfix_free(e->ipfix);
    nf9_free(e->nf9);
    nf5_free(e->nf5);
    ntopng_free(e->ntopng);
    free(e);
}

int encoder_add_flow(struct encoder *e, const struct flow_record *r)
{
    return e->ipfix ? ipfix_add_flow(e->ipfix, r)
         : e->ntopng ? ntopng_add_flow(e->ntopng, r)
         : e->nf9 ? nf9_add_flow(e->nf9, r)
         : nf5_add_flow(e->nf5, r);
}

int encoder_add_stats(struct encoder *e, const struct probe_stats_record *s)
{
    return e->ipfix ? ipfix_add_stats(e->ipfix, s) : 0;
}

int encoder_send_templates(struct encoder *e)
{
    return e->ipfix ? ipfix_send_templates(e->ipfix)
         : e->nf9 ? nf9_send_templates(e->nf9)
         : 0;
}

int encoder_withdraw_templates(struct encoder *e)
{
    return e->ipfix ? ipfix_withdraw_templates(e->ipfix) : 0;
}

int encoder_begin_session(struct encoder *e)
{
    return e->ipfix ? ipfix_send_templates(e->ipfix)
         : e->nf9 ? nf9_begin_session(e->nf9)
         : encoder_flush(e);
}

int encoder_flush(struct encoder *e)
{
    return e->ipfix ? ipfix_flush(e->ipfix)
         : e->ntopng ? ntopng_flush(e->ntopng)
         : e->nf9 ? nf9_flush(e->nf9)
         : nf5_flush(e->nf5);
}

const struct export_counters *encoder_counters(const struct encoder *e)
{
    return e->ipfix ? ipfix_counters(e->ipfix)
         : e->ntopng ? ntopng_counters(e->ntopng)
         : e->nf9 ? nf9_counters(e->nf9)
         : nf5_counters(e->nf5);
}

enum export_format encoder_format(const struct encoder *e)
{
    return e->format;
}

int encoder_set_app_names(struct encoder *e, const struct ipfix_app_table *t, char *err,
                          size_t errlen)
{
    return e->ipfix ? ipfix_set_app_names(e->ipfix, t, err, errlen)
         : e->nf9 ? nf9_set_app_names(e->nf9, t, err, errlen)
         : 0;
}

struct ipfix_encoder *encoder_ipfix(struct encoder *e)
{
    return e->ipfix;
}
