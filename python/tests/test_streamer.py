"""NFStreamer against nfprobe's own JSON, on every test capture (batched:
one test walks them all and reports every capture that differs)."""
import os
import warnings

import pandas as pd
import pytest

from conftest import cli_records
from nfprobe import NFPlugin, NFStreamer, _schema
from packets666 import Packets666

SPLT_N = 5
# The same run in the two languages: nfstream's timeouts and dissection
# budget, statistics and 5-packet SPLT, IP-level bytes (accounting_mode=1).
CLI_OPTIONS = ("--idle-timeout", "120", "--active-timeout", "1800", "--max-tcp-dissections", "20",
               "--max-udp-dissections", "20", "-P", "flowstats", "-P", "splt:n=%d" % SPLT_N)
STREAMER_OPTIONS = dict(accounting_mode=1, statistical_analysis=True, splt_analysis=SPLT_N)


def streamed(path, **kw):
    """(flows, error): every flow, or the ValueError of a capture nfprobe
    cannot read at all; a warning for one it read in part."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        try:
            return list(NFStreamer(source=path, **kw)), None
        except ValueError as e:
            return [], e


def expected_value(name, value):
    if name in _schema.SPLT:
        return value + [-1] * (SPLT_N - len(value))
    return value


def differences(records, flows):
    """What differs between nfprobe's records and the flows, as text."""
    if len(records) != len(flows):
        return ["%d records, %d flows" % (len(records), len(flows))]
    out = []
    for rec, flow in zip(records, flows):
        cols = flow.keys()
        for name, value in rec.items():
            if name in cols and flow.get(name) != expected_value(name, value):
                out.append("flow %s: %s %r != %r" % (rec["id"], name, flow.get(name), value))
            elif name not in cols:
                out.append("flow %s: member %s is no column (add it to nfprobe/_schema.py)" % (rec["id"], name))
        for name in cols:
            if name not in rec and not name.startswith("udps.") and flow.get(name) is not None:
                out.append("flow %s: %s is %r, nfprobe has no such member" % (rec["id"], name, flow.get(name)))
        want = 1 if rec["end_reason"] == 2 else 0
        if flow.expiration_id != want:
            out.append("flow %s: expiration_id %r for end_reason %r" % (rec["id"], flow.expiration_id, rec["end_reason"]))
    return out[:5]


def pandas_differences(df, records):
    """What differs between to_pandas() and nfprobe's records, as text."""
    if df is None:      # nfstream's answer for no flows
        return ["None for %d records" % len(records)] if records else []
    if list(df.columns) != list(_schema.columns(True, True)):
        return ["columns %s" % list(df.columns)]
    if len(df) != len(records):
        return ["%d rows, nfprobe %d records" % (len(df), len(records))]
    out = []
    for name in df.columns:
        got = df[name].tolist()
        want = [expected_value(name, r[name]) if name in r else None for r in records]
        bad = [i for i, (g, w) in enumerate(zip(got, want)) if g != w and not (w is None and pd.isna(g))]
        if bad:
            out.append("column %s, row %d: %r != %r" % (name, bad[0], got[bad[0]], want[bad[0]]))
    return out


def test_every_capture_as_nfprobe_json(all_captures):
    """Per capture, one nfprobe run (with the C 666-byte plugin) against
    NFStreamer with the Python 666-byte plugin (examples/packets666.py: per
    packet through the events pipe) and against to_pandas() (the plain
    path): same flows, same counts, same rows and columns."""
    plugin = os.environ["EXAMPLE_PLUGIN"]
    failed, flows_compared, big = [], 0, 0
    for path in all_captures:
        name = os.path.basename(path)
        records, rc = cli_records(path, "-P", plugin, *CLI_OPTIONS)
        flows, error = streamed(path, udps=Packets666(), **STREAMER_OPTIONS)
        if error is not None:
            if records or rc == 0:
                failed.append("%s: %s" % (name, error))
            continue
        for rec, flow in zip(records, flows):
            big += rec["packets_over_666"]
            if flow.udps.packets_over_666 != rec.pop("packets_over_666"):
                failed.append("%s flow %s: %r 666-byte packets" % (name, rec["id"], flow.udps.packets_over_666))
        failed += ["%s: %s" % (name, d) for d in differences(records, flows)]
        flows_compared += len(flows)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            df = NFStreamer(source=path, **STREAMER_OPTIONS).to_pandas()
        failed += ["%s: to_pandas: %s" % (name, d) for d in pandas_differences(df, records)]
    assert not failed, "\n".join(failed[:30])
    assert flows_compared > 1000 and big > 1000     # not a comparison of nothing


class Counter(NFPlugin):
    def on_init(self, packet, flow):
        setattr(flow.udps, self.name, 1)

    def on_update(self, packet, flow):
        setattr(flow.udps, self.name, getattr(flow.udps, self.name) + 1)


def test_volatile_plugin_state_stays_out(tmp_path):
    sample = os.path.join(os.environ["top_srcdir"], "samples", "sample.pcap")
    seen = []

    class Reader(NFPlugin):    # sees the volatile value while the flow is open
        def on_expire(self, flow):
            seen.append(flow.udps.scratch == flow.bidirectional_packets)

    udps = [Counter(name="scratch", volatile=True), Counter(name="kept"), Reader()]
    flows = list(NFStreamer(source=sample, udps=udps))
    assert flows and all(seen) and len(seen) == len(flows)
    for flow in flows:
        assert "udps.scratch" not in flow.keys() and not hasattr(flow.udps, "scratch")
        assert flow.udps.kept == flow.bidirectional_packets
    df = NFStreamer(source=sample, udps=[Counter(name="a", volatile=("a",)), Counter(name="b")]).to_pandas()
    assert "udps.a" not in df.columns and (df["udps.b"] == df["bidirectional_packets"]).all()
    n = NFStreamer(source=sample, udps=Counter(name="c", volatile=True)).to_csv(str(tmp_path / "f.csv"))
    header = open(str(tmp_path / "f.csv")).readline()
    assert n == len(flows) and "udps.c" not in header and header.startswith("id,first_seen_ms,")


def test_plugins_with_several_meters():
    """n_meters=2: nfprobe's workers run the events plugin on two threads;
    every flow still gets all its packets, before it is yielded."""
    path = os.path.join(os.environ["top_srcdir"], "samples", "sample.pcap")
    one = sorted((f.src_ip, f.src_port, f.dst_ip, f.dst_port, f.udps.n)
                 for f in NFStreamer(source=path, udps=Counter(name="n")))
    two = NFStreamer(source=path, n_meters=2, udps=Counter(name="n"))
    assert "--workers" in two.command_options()
    flows = list(two)
    assert all(f.udps.n == f.bidirectional_packets for f in flows)
    assert sorted((f.src_ip, f.src_port, f.dst_ip, f.dst_port, f.udps.n) for f in flows) == one


def test_accounting_mode_0_counts_frames():
    sample = os.path.join(os.environ["top_srcdir"], "samples", "sample.pcap")
    records, _ = cli_records(sample)
    flows = list(NFStreamer(source=sample))     # nfstream's default: link layer
    assert len(flows) == len(records) == 570
    for rec, flow in zip(records, flows):
        assert flow.src2dst_bytes == rec["src2dst_l2_bytes"] and flow.dst2src_bytes == rec["dst2src_l2_bytes"]
        assert flow.bidirectional_bytes == rec["src2dst_l2_bytes"] + rec["dst2src_l2_bytes"]


def test_stops_early_without_reading_everything():
    """Flows stream: breaking out after the first flow ends nfprobe."""
    big = os.environ.get("BIG_CAPTURE")
    if not big:
        pytest.skip("BIG_CAPTURE not set")
    it = iter(NFStreamer(source=big, n_dissections=0, idle_timeout=1))
    first = next(it)
    assert first.bidirectional_packets >= 1
    # nfprobe cannot be done: its output (~100,000 records) exceeds what the
    # pipe and one read hold, so it is still writing, blocked on us.
    run_alive = it.gi_frame.f_locals["run"].proc.poll() is None
    it.close()
    assert run_alive


def test_to_csv_in_files_and_anonymized(tmp_path):
    sample = os.path.join(os.environ["top_srcdir"], "samples", "sample.pcap")
    records, _ = cli_records(sample)
    path = str(tmp_path / "flows.csv")
    n = NFStreamer(source=sample).to_csv(path=path, columns_to_anonymize=["src_ip"], flows_per_file=200)
    assert n == len(records) == 570
    frames = [pd.read_csv(str(tmp_path / ("flows.%d.csv" % i))) for i in range(3)]
    assert [len(f) for f in frames] == [200, 200, 170] and not os.path.exists(str(tmp_path / "flows.3.csv"))
    df = pd.concat(frames, ignore_index=True)
    assert list(df.columns) == list(_schema.columns(False, False))
    assert df["dst_port"].tolist() == [r["dst_port"] for r in records]
    # the same address, the same digest; different addresses, different digests
    digest = dict(zip(df["src_ip"], (r["src_ip"] for r in records)))
    assert all(len(d) == 128 for d in digest) and len(digest) == len(set(r["src_ip"] for r in records))
