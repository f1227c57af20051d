"""Parameters: what nfprobe lacks is refused with a ValueError that says
which parameter and why; the rest reaches nfprobe's options."""
import os
import subprocess

import pytest

from nfprobe import NFPlugin, NFStreamer

SAMPLE = os.path.join(os.environ["top_srcdir"], "samples", "sample.pcap")

BAD = [
    (dict(source="/nonexistent.pcap"), "neither a capture file nor a network interface"),
    (dict(source=None), "source must be"),
    (dict(accounting_mode=2), "accounting_mode=2 (transport layer) is not supported"),
    (dict(accounting_mode=3), "accounting_mode=3 (payload) is not supported"),
    (dict(accounting_mode=7), "accounting_mode must be an integer 0..1"),
    (dict(promiscuous_mode=False), "promiscuous_mode=False is not supported"),
    (dict(n_dissections=256), "n_dissections must be an integer 0..255"),
    (dict(splt_analysis=-1), "splt_analysis must be an integer 0..255"),
    (dict(statistical_analysis=1), "statistical_analysis must be True or False"),
    (dict(decode_tunnels="yes"), "decode_tunnels must be True or False"),
    (dict(bpf_filter=80), "bpf_filter must be a string"),
    (dict(snapshot_length=0), "snapshot_length must be an integer"),
    (dict(idle_timeout="30"), "idle_timeout must be an integer >= 0"),
    (dict(active_timeout=-1), "active_timeout must be an integer >= 0"),
    (dict(n_meters=65), "n_meters must be an integer 0..64"),
    (dict(performance_report=1.5), "performance_report must be an integer"),
    (dict(udps=object()), "udps must be an NFPlugin or a list of them"),
    (dict(udps=[NFPlugin(), "x"]), "is not an NFPlugin"),
    (dict(system_visibility_mode=1), "system_visibility_mode=1 is not supported"),
]


@pytest.mark.parametrize("kwargs,message", BAD)
def test_bad_parameter_is_a_value_error(kwargs, message):
    kwargs.setdefault("source", SAMPLE)
    with pytest.raises(ValueError) as e:
        NFStreamer(**kwargs)
    assert message in str(e.value)


def test_bad_filter_is_nfprobes_message():
    with pytest.raises(ValueError) as e:
        list(NFStreamer(source=SAMPLE, bpf_filter="port not-a-port"))
    assert "nfprobe exited with status" in str(e.value) and "not-a-port" in str(e.value)


def test_options_reach_nfprobe():
    s = NFStreamer(source=SAMPLE, bpf_filter="udp", idle_timeout=5, active_timeout=60, n_dissections=0,
                   statistical_analysis=True, splt_analysis=7, n_meters=2)
    opts = s.command_options()
    pairs = list(zip(opts, opts[1:]))
    for want in (("-f", "udp"), ("--idle-timeout", "5"), ("--active-timeout", "60"), ("-P", "flowstats"),
                 ("-P", "splt:n=7"), ("--workers", "2")):
        assert want in pairs, (want, opts)
    assert "--no-dissect" in opts and "--max-tcp-dissections" not in opts
    flows = list(s)
    assert flows and all(f.protocol == 17 for f in flows)
    assert all(f.application_name is None and len(f.splt_ps) == 7 for f in flows)
    assert all(f.bidirectional_min_ps is not None for f in flows)


def test_offline_and_interface_sources():
    assert NFStreamer(source=SAMPLE).mode == "file"
    assert NFStreamer(source="lo").mode == "live"


def test_events_plugin_arguments_and_a_reader_gone():
    """-P events needs fd=N; a descriptor that cannot be written (no reader)
    stops the events, not the run."""
    nfprobe = os.environ["NFPROBE"]
    bad = subprocess.run([nfprobe, "-q", "-r", SAMPLE, "-P", "events:fd=x"], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE)
    assert bad.returncode != 0 and b"events: expected fd=N" in bad.stderr
    plain = subprocess.run([nfprobe, "-q", "-r", SAMPLE], stdout=subprocess.PIPE, check=True).stdout
    r, w = os.pipe()
    os.close(r)                         # the reader is gone before nfprobe starts
    out = subprocess.run([nfprobe, "-q", "-r", SAMPLE, "-P", "events:fd=%d" % w], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, pass_fds=(w,))
    os.close(w)
    assert out.returncode == 0, out.stderr
    assert out.stdout.count(b"\n") == plain.count(b"\n") == 570
