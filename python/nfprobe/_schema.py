"""The members of nfprobe's JSON records, in nfprobe's order, by feature.

A flow object has every column of the features in use (None where nfprobe
left the member out: a DNS field of a TLS flow, TCP flags of a UDP flow), so
that to_csv() can write its header before the first flow and every row has
the same columns. tests (test_streamer.py) check that these lists cover every
member nfprobe writes for the test captures: a member added to nfprobe's JSON
must be added here."""

CORE = (
    "id", "first_seen_ms", "last_seen_ms", "ip_version", "protocol", "vlan_id",
    "src_ip", "src_port", "dst_ip", "dst_port",
    "src2dst_packets", "dst2src_packets", "src2dst_bytes", "dst2src_bytes",
    "src2dst_l2_bytes", "dst2src_l2_bytes",
    "src2dst_icmp_type_code", "dst2src_icmp_type_code", "src2dst_tcp_flags", "dst2src_tcp_flags",
    "end_reason",
    "bidirectional_first_seen_ms", "bidirectional_last_seen_ms", "bidirectional_duration_ms",
    "bidirectional_packets", "bidirectional_bytes",
    "src2dst_first_seen_ms", "src2dst_last_seen_ms", "src2dst_duration_ms",
    "dst2src_first_seen_ms", "dst2src_last_seen_ms", "dst2src_duration_ms", "expiration_id",
    # a decoded tunnel (None for a packet that was in none); tunnel_id is nfstream's name
    "tunnel_type", "tunnel_src_ip", "tunnel_dst_ip", "tunnel_id", "reverse_tunnel_id", "layer2_segment_id",
)

DPI = (
    "master_protocol", "app_protocol", "application_name", "application_category_name",
    "application_is_guessed", "application_confidence", "requested_server_name",
    "client_fingerprint", "server_fingerprint", "user_agent",
    "ssh_client_signature", "ssh_server_signature", "dns_query_type", "dns_rcode",
    "tls_version", "tls_cipher", "tls_alpn", "tls_issuer", "tls_subject",
    "tls_not_before", "tls_not_after",
)


def _statistical():
    names = []
    for what in ("ps", "piat_ms"):
        for scope in ("bidirectional", "src2dst", "dst2src"):
            names += ["%s_%s_%s" % (scope, stat, what) for stat in ("min", "mean", "stddev", "max")]
    for scope in ("bidirectional", "src2dst", "dst2src"):
        names += ["%s_%s_packets" % (scope, flag)
                  for flag in ("syn", "cwr", "ece", "urg", "ack", "psh", "rst", "fin")]
    return tuple(names)


STATISTICAL = _statistical()

SPLT = ("splt_direction", "splt_ps", "splt_piat_ms")

# nfprobe members that only join records for the Python package's own use.
INTERNAL = ("event_key",)


def columns(statistical, splt):
    """The columns of a flow for these options, in output order. The DPI
    columns are there without dissection too (None), as in nfstream."""
    cols = CORE + DPI
    if statistical:
        cols += STATISTICAL
    if splt:
        cols += SPLT
    return cols
