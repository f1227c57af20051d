"""NFPlugin: nfstream's per-flow feature extension, in Python."""


class NFPlugin(object):
    """Subclass it and override what you need; pass instances as
    NFStreamer(udps=...). Keyword arguments become attributes of the plugin
    (NFPlugin(limit=3).limit == 3), as in nfstream, so a model or a table
    travels with it (user_data=..., my_model=...).

    Callbacks, as in nfstream, per packet (slow: every packet of every flow
    crosses from nfprobe into Python; nfprobe's C plugins are the fast path):

      on_init(packet, flow)    the flow record's first packet
      on_update(packet, flow)  each later packet
      on_expire(flow)          the record is done; flow has every attribute
      cleanup()                once, when the streamer is done

    Store per-flow values under flow.udps (flow.udps.my_count = 0); they come
    out as udps.my_count columns. volatile=True keeps the udps this plugin
    creates out of the flows yielded (working state, e.g. a feature buffer),
    as does a list of names: volatile=("buffer",)."""

    def __init__(self, **kwargs):
        self.volatile = False
        self.user_data = None
        for key, value in kwargs.items():
            setattr(self, key, value)

    def on_init(self, packet, flow):
        """The flow record's first packet: initialise flow.udps values here."""

    def on_update(self, packet, flow):
        """Each later packet of the record."""

    def on_expire(self, flow):
        """The record expires: every attribute of the flow is final."""

    def cleanup(self):
        """The streamer is done (end of capture, or iteration stopped)."""
