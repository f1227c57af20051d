/* fields.h — --list-fields: every element nfprobe can export. */
#ifndef NFPROBE_FIELDS_H
#define NFPROBE_FIELDS_H

#include <stdio.h>

/* Print the element table (after extensions registered their rows): name,
 * IPFIX id (IANA id or PEN/id), NetFlow v9 id, type, length, and which
 * built-in templates carry it; RFC 5103 reverse twins on their own lines.
 * 0 (the templates of extensions that are off are left out). */
int fields_list(FILE *out);

#endif
