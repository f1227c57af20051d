/* tunnel_fields.h — what a flow's tunnel looks like in its records.
 *
 * An extension (extension.h) that keeps, per flow, the tunnel's type, the
 * outermost addresses as the initiator sent them and the id each direction's
 * packets carried (GTP-U TEIDs differ per direction), and the element rows
 * that export them (templates/tunnel.tmpl). */
#ifndef NFPROBE_TUNNEL_FIELDS_H
#define NFPROBE_TUNNEL_FIELDS_H

#include <stddef.h>

/* Register the extension and its rows (with decapsulation on). 0, or -1
 * with a message in err. */
int tunnel_fields_register(char *err, size_t errlen);

#endif
