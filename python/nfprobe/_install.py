# Where `make install` put nfprobe (the installed copy of this file says;
# None in the source tree: NFPROBE or PATH then).
BINDIR = None
