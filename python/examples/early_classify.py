"""Early classification, nfstream style: the IP sizes of a flow's first three
packets feed a model's predict_proba as the third packet arrives.

    python3 early_classify.py train.pcap [test.pcap]

The model (scikit-learn, Debian's python3-sklearn) learns the application
(nDPI's name up to the dot) from the first three packet sizes of train.pcap's
flows (splt_analysis=3); a plugin then predicts per flow, live, from the
packets themselves. With nfstream the only change is the import line."""
import sys

from sklearn.tree import DecisionTreeClassifier

from nfprobe import NFPlugin, NFStreamer   # nfstream: from nfstream import NFPlugin, NFStreamer

N_PACKETS = 3


def application(name):
    return name.split(".")[0]


def train(path):
    df = NFStreamer(source=path, splt_analysis=N_PACKETS).to_pandas()
    model = DecisionTreeClassifier(random_state=0)
    model.fit(df["splt_ps"].tolist(), df["application_name"].map(application))
    return model


class EarlyClassifier(NFPlugin):
    """user_data: the model. udps.sizes is working state (volatile: it is
    not in the flows yielded); early_label and early_probability are."""

    def on_init(self, packet, flow):
        flow.udps.sizes = [packet.ip_size]
        flow.udps.early_label = None
        flow.udps.early_probability = None
        self.predict_when_ready(flow)

    def on_update(self, packet, flow):
        if len(flow.udps.sizes) < N_PACKETS:
            flow.udps.sizes.append(packet.ip_size)
            self.predict_when_ready(flow)

    def on_expire(self, flow):
        if flow.udps.early_label is None:   # fewer packets: padded as splt_ps is
            flow.udps.sizes += [-1] * (N_PACKETS - len(flow.udps.sizes))
            self.predict_when_ready(flow)

    def predict_when_ready(self, flow):
        if len(flow.udps.sizes) == N_PACKETS:
            proba = self.user_data.predict_proba([flow.udps.sizes])[0]
            best = proba.argmax()
            flow.udps.early_label = self.user_data.classes_[best]
            flow.udps.early_probability = float(proba[best])


if __name__ == "__main__":
    model = train(sys.argv[1])
    streamer = NFStreamer(source=sys.argv[-1], udps=EarlyClassifier(user_data=model, volatile=("sizes",)))
    for flow in streamer:
        print(flow.src_ip, flow.dst_ip, flow.application_name, "->", flow.udps.early_label,
              "%.2f" % flow.udps.early_probability)
