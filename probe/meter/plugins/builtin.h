/* builtin.h — the plugins shipped inside nfprobe (-P NAME[:arguments]).
 *
 * Each is an ordinary plugin (nfprobe/plugin.h) compiled in. Element ids
 * under the default PEN: examples/ 1-9, splt 10-19, events 20-29,
 * flowstats 100-199, early-classify 200-209. */
#ifndef NFPROBE_PLUGINS_BUILTIN_H
#define NFPROBE_PLUGINS_BUILTIN_H

#include "nfprobe/plugin.h"

extern const struct nfp_plugin nfp_builtin_splt;
extern const struct nfp_plugin nfp_builtin_flowstats;
extern const struct nfp_plugin nfp_builtin_early_classify;
extern const struct nfp_plugin nfp_builtin_events;

#endif
