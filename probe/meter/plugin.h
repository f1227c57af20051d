/* plugin.h — nfprobe's side of the plugin API (include/nfprobe/plugin.h).
 *
 * -P NAME[:arguments] names a built-in plugin (probe/plugins/), -P PATH[:arguments]
 * a shared object exporting `nfp_plugin` (a PATH contains a '/' or ends in
 * ".so"). Together the plugins are one extension (extension.h) whose state
 * holds each plugin's per-flow state, and their fields become element rows,
 * registered through extend.h like the DPI's. */
#ifndef NFPROBE_PLUGIN_HOST_H
#define NFPROBE_PLUGIN_HOST_H

#include <stddef.h>
#include <stdint.h>
#include "nfprobe/plugin.h"

struct dpi;

/* Load, initialise and register one plugin. pen: the enterprise number of
 * fields whose plugin leaves it 0; run_flags: NFP_RUN_*. 0, or -1 with a
 * message naming the plugin and the reason in err. */
int plugin_load(const char *spec, uint32_t pen, unsigned run_flags, char *err, size_t errlen);

/* The same for a descriptor in hand (tests; label names it in messages;
 * args NULL when none). */
int plugin_load_descriptor(const struct nfp_plugin *d, const char *label, const char *args,
                           uint32_t pen, unsigned run_flags, char *err, size_t errlen);

/* Call every plugin's cleanup and unload the shared objects. */
void plugins_unload(void);

/* Plugins read DPI results through nfp_flow_dpi(): tell it where they are
 * (NULL: dissection off). */
void plugins_set_dpi(const struct dpi *d);

/* The built-in plugins' names, NULL past the last (for help texts). */
const char *plugin_builtin_name(size_t i);

#endif
