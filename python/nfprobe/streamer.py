"""NFStreamer: nfstream's streamer over nfprobe's engine.

Each iteration runs nfprobe (the command) on the source with the options the
parameters map to and reads its JSON records as they come: flows stream,
whatever the size of the capture. With udps (Python plugins) nfprobe also
writes every packet to a pipe (its `events` plugin) and the plugins run here,
per packet, as in nfstream."""
import csv
import hashlib
import os
import secrets

from . import _engine, _schema
from ._events import PluginHost
from .flow import NFlow
from .plugin import NFPlugin


def _bool(name, value):
    if not isinstance(value, bool):
        raise ValueError("%s must be True or False, not %r" % (name, value))
    return value


def _int(name, value, low, high=None):
    if isinstance(value, bool) or not isinstance(value, int) or value < low or (high is not None and value > high):
        limit = "%d..%d" % (low, high) if high is not None else ">= %d" % low
        raise ValueError("%s must be an integer %s, not %r" % (name, limit, value))
    return value


def _plugins(value):
    if value is None:
        return ()
    plugins = (value,) if isinstance(value, NFPlugin) else value
    try:
        plugins = tuple(plugins)
    except TypeError:
        raise ValueError("udps must be an NFPlugin or a list of them, not %r" % (value,))
    for p in plugins:
        if not isinstance(p, NFPlugin):
            raise ValueError("udps: %r is not an NFPlugin (user defined plugins inherit from nfprobe.NFPlugin)" % (p,))
    return plugins


def _source(value):
    """(mode, source): 'file' for a capture file, 'live' for an interface."""
    try:
        path = str(os.fspath(value))
    except TypeError:
        raise ValueError("source must be a capture file or a network interface name, not %r" % (value,))
    if os.path.isfile(path):
        return "file", path
    if path and "/" not in path and os.path.isdir(os.path.join("/sys/class/net", path)):
        return "live", path
    raise ValueError("source %r is neither a capture file nor a network interface of this machine" % path)


class NFStreamer(object):
    """Flows from a capture file or a live interface, with nfstream's
    parameters (python/README says what each maps to in nfprobe):

        for flow in NFStreamer(source="trace.pcap"):
            print(flow.application_name, flow.bidirectional_bytes)
    """

    def __init__(self, source=None, decode_tunnels=True, bpf_filter=None, promiscuous_mode=True,
                 snapshot_length=1536, idle_timeout=120, active_timeout=1800, accounting_mode=0,
                 udps=None, n_dissections=20, statistical_analysis=False, splt_analysis=0,
                 n_meters=0, performance_report=0, system_visibility_mode=0,
                 system_visibility_poll_ms=100, system_visibility_extension_port=28314):
        self.mode, self.source = _source(source)
        self.decode_tunnels = _bool("decode_tunnels", decode_tunnels)
        if bpf_filter is not None and not isinstance(bpf_filter, str):
            raise ValueError("bpf_filter must be a string (a BPF expression) or None, not %r" % (bpf_filter,))
        self.bpf_filter = bpf_filter
        if not _bool("promiscuous_mode", promiscuous_mode):
            raise ValueError("promiscuous_mode=False is not supported: nfprobe always captures in "
                             "promiscuous mode (leave it True)")
        self.promiscuous_mode = promiscuous_mode
        self.snapshot_length = _int("snapshot_length", snapshot_length, 1, 262144)
        self.idle_timeout = _int("idle_timeout", idle_timeout, 0)
        self.active_timeout = _int("active_timeout", active_timeout, 0)
        if accounting_mode in (2, 3) and not isinstance(accounting_mode, bool):
            raise ValueError("accounting_mode=%d (%s) is not supported: nfprobe counts link-layer (0) "
                             "and IP-level (1) bytes" % (accounting_mode, ("transport layer", "payload")[accounting_mode - 2]))
        self.accounting_mode = _int("accounting_mode", accounting_mode, 0, 1)
        self.udps = _plugins(udps)
        self.n_dissections = _int("n_dissections", n_dissections, 0, 255)
        self.statistical_analysis = _bool("statistical_analysis", statistical_analysis)
        self.splt_analysis = _int("splt_analysis", splt_analysis, 0, 255)
        self.n_meters = _int("n_meters", n_meters, 0, _engine.MAX_WORKERS)
        self.performance_report = _int("performance_report", performance_report, 0)
        if _int("system_visibility_mode", system_visibility_mode, 0, 2) != 0:
            raise ValueError("system_visibility_mode=%d is not supported: nfprobe does not match flows "
                             "to processes (leave it 0)" % system_visibility_mode)
        self.system_visibility_mode = 0
        self.system_visibility_poll_ms = _int("system_visibility_poll_ms", system_visibility_poll_ms, 0)
        self.system_visibility_extension_port = _int("system_visibility_extension_port",
                                                     system_visibility_extension_port, 0, 65535)
        self._columns = list(_schema.columns(self.statistical_analysis, self.splt_analysis > 0))
        self._known = set(self._columns)

    # ---- the command ------------------------------------------------------

    def command_options(self):
        """nfprobe's options for these parameters (without the source)."""
        args = ["--json", "--idle-timeout", str(self.idle_timeout),
                "--active-timeout", str(self.active_timeout)]
        if self.mode == "live":
            args += ["-s", str(self.snapshot_length)]
        if self.bpf_filter:
            args += ["-f", self.bpf_filter]
        if not self.decode_tunnels:
            args += _engine.no_decode_tunnels_option()
        if self.n_dissections == 0:
            args.append("--no-dissect")
        else:
            args += ["--max-tcp-dissections", str(self.n_dissections),
                     "--max-udp-dissections", str(self.n_dissections)]
        if self.statistical_analysis:
            args += ["-P", "flowstats"]
        if self.splt_analysis:
            args += ["-P", "splt:n=%d" % self.splt_analysis]
        if self.n_meters > 1:
            args += ["--workers", str(self.n_meters)]
        if self.performance_report:
            args += ["--stats", str(self.performance_report)]
        else:
            args.append("-q")
        return args

    def _command(self, events_fd=None):
        cmd = [_engine.binary()] + self.command_options()
        if events_fd is not None:
            cmd += ["-P", "events:fd=%d" % events_fd]
        cmd += ["-r" if self.mode == "file" else "-i", self.source]
        return cmd

    # ---- flows ------------------------------------------------------------

    def _flow(self, record):
        """A flow object from one JSON record, with nfstream's meanings."""
        record.pop("event_key", None)
        flow = NFlow(self._columns)
        d = flow.__dict__
        d.update(record)
        if not self._known.issuperset(record):
            for name in record:
                if name not in self._known:     # a member _schema does not know yet
                    self._known.add(name)
                    self._columns.append(name)
        if self.accounting_mode == 0:   # nfstream's default: whole frames
            d["src2dst_bytes"] = record["src2dst_l2_bytes"]
            d["dst2src_bytes"] = record["dst2src_l2_bytes"]
            d["bidirectional_bytes"] = d["src2dst_bytes"] + d["dst2src_bytes"]
        if self.splt_analysis:          # nfstream pads the lists to N with -1
            for name in _schema.SPLT:
                values = record.get(name, [])
                d[name] = values + [-1] * (self.splt_analysis - len(values))
        return flow

    def __iter__(self):
        run = _engine.Run(self._command, with_events=bool(self.udps),
                          stderr_to_user=self.performance_report > 0)
        host = PluginHost(self.udps, self._columns, self.accounting_mode == 0) if self.udps else None
        try:
            if host is None:
                for record in run.records():
                    yield self._flow(record)
            else:
                for record in run.records_and_events(host.feed, host.ready):
                    key = record["event_key"]
                    yield host.complete(key, self._flow(record))
        finally:
            run.close()
            for p in self.udps:
                p.cleanup()

    # ---- tables -----------------------------------------------------------

    def _rows(self, columns_to_anonymize):
        """(columns, rows) where rows is an iterator of value lists; columns
        are the first flow's (every flow of a run has the same)."""
        anonymize = _Anonymizer(columns_to_anonymize)
        it = iter(self)
        first = next(it, None)
        if first is None:
            return None, iter(())
        columns = first.keys()
        idx = [columns.index(c) for c in anonymize.columns if c in columns]

        plain = [c for c in columns if not c.startswith("udps.")]  # keys(): these, then udps
        plugin_values = [c[5:] for c in columns[len(plain):]]

        def rows():
            for flow in _chain(first, it):
                d, u = flow.__dict__, flow.udps.__dict__
                values = [d.get(c) for c in plain] + [u.get(c) for c in plugin_values]
                for i in idx:
                    values[i] = anonymize(values[i])
                yield values
        return columns, rows()

    def to_csv(self, path=None, columns_to_anonymize=(), flows_per_file=0):
        """Write the flows as CSV to path (default: the source's name +
        '.csv'), flows_per_file per file when not 0 (path.0.csv, path.1.csv,
        ...). Streams: one flow in memory at a time. Returns the flows written."""
        _int("flows_per_file", flows_per_file, 0)
        path = path or self.source + ".csv"
        columns, rows = self._rows(columns_to_anonymize)
        total, out, writer = 0, None, None
        try:
            for values in rows:
                if out is None or (flows_per_file and total % flows_per_file == 0):
                    if out:
                        out.close()
                    name = path if not flows_per_file else "%s.%d.csv" % (
                        path[:-4] if path.endswith(".csv") else path, total // flows_per_file)
                    out = open(name, "w", newline="")
                    writer = csv.writer(out)
                    writer.writerow(columns)
                writer.writerow(["" if v is None else v for v in values])
                total += 1
        finally:
            if out:
                out.close()
        return total

    def to_pandas(self, columns_to_anonymize=()):
        """The flows as a pandas DataFrame (None without flows), built in
        chunks of value rows: no flow object outlives its row."""
        import pandas as pd
        columns, rows = self._rows(columns_to_anonymize)
        if columns is None:
            return None
        frames, chunk = [], []
        for values in rows:
            chunk.append(values)
            if len(chunk) == 65536:
                frames.append(_frame(pd, chunk, columns))
                chunk = []
        if chunk or not frames:
            frames.append(_frame(pd, chunk, columns))
        return pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]


def _frame(pd, chunk, columns):
    """One chunk as a DataFrame. An integer column with missing values
    would become float64 and lose the low digits of 64-bit values (a VXLAN
    layer2_segment_id): such columns get pandas' nullable integer type."""
    df = pd.DataFrame(chunk, columns=columns)
    for i, name in enumerate(columns):
        if df[name].dtype.kind != "f":
            continue
        values = [row[i] for row in chunk]
        present = [v for v in values if v is not None]
        if present and all(isinstance(v, int) and not isinstance(v, bool) for v in present):
            df[name] = pd.array(values, dtype="UInt64" if max(present) >= 2 ** 63 else "Int64")
    return df


def _chain(first, rest):
    yield first
    for x in rest:
        yield x


class _Anonymizer(object):
    """nfstream's columns_to_anonymize: each value replaced by its keyed
    BLAKE2b digest, the key random per call (equal values stay equal within
    one output, cannot be matched across outputs)."""

    def __init__(self, columns):
        if isinstance(columns, str):
            raise ValueError("columns_to_anonymize must be a list of column names, not a string")
        self.columns = tuple(columns)
        self.key = secrets.token_bytes(64)

    def __call__(self, value):
        if value is None:
            return None
        return hashlib.blake2b(str(value).encode(), digest_size=64, key=self.key).hexdigest()
