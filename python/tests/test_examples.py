"""The nfstream-style examples in python/examples run as they are."""
import os
import subprocess
import sys

import pytest

from nfprobe import NFStreamer

EXAMPLES = os.path.join(os.environ["top_srcdir"], "python", "examples")


def test_early_classify_predicts_from_the_first_three_packets(all_captures):
    pytest.importorskip("sklearn")
    import early_classify
    data = os.path.dirname(all_captures[0])
    train = os.path.join(data, "1kxun.pcap")
    model = early_classify.train(train)
    flows = list(NFStreamer(source=train, splt_analysis=3,
                            udps=early_classify.EarlyClassifier(user_data=model, volatile=("sizes",))))
    assert len(flows) > 100
    for f in flows:
        # The plugin saw the packets in Python; splt_ps came from nfprobe's C
        # plugin: the same sizes, so the same prediction.
        proba = model.predict_proba([f.splt_ps])[0]
        assert f.udps.early_label == model.classes_[proba.argmax()]
        assert f.udps.early_probability == pytest.approx(proba.max())
        assert "udps.sizes" not in f.keys()
    right = sum(f.udps.early_label == early_classify.application(f.application_name) for f in flows)
    assert right / len(flows) > 0.9     # on its training capture


def test_example_scripts_run():
    sample = os.path.join(os.environ["top_srcdir"], "samples", "sample.pcap")
    out = subprocess.run([sys.executable, os.path.join(EXAMPLES, "packets666.py"), sample],
                         stdout=subprocess.PIPE, check=True, env=dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path)))
    lines = out.stdout.decode().splitlines()
    assert len(lines) == 570
    assert sum(int(l.split()[-1]) for l in lines) == sum(
        f.udps.packets_over_666 for f in NFStreamer(source=sample, udps=__import__("packets666").Packets666()))
