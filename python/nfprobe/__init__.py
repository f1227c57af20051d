"""nfprobe: nfstream's interface (NFStreamer, NFPlugin) over nfprobe's engine.

    from nfprobe import NFStreamer, NFPlugin

python/README (installed as the package's documentation) has the tutorial
and says which nfstream parameters map to what."""
from .flow import NFlow, NFPacket
from .plugin import NFPlugin
from .streamer import NFStreamer

__version__ = "0.1.0"
__all__ = ["NFStreamer", "NFPlugin", "NFlow", "NFPacket", "__version__"]
