"""Running nfprobe: which binary, which options it has, and one run's
records (and events) read as they come."""
import collections
import json
import os
import selectors
import shutil
import signal
import subprocess
import tempfile
import warnings

from . import _install

MAX_WORKERS = 64        # probe/options.h
READ_CHUNK = 1 << 20
_help_cache = {}


def binary():
    """The nfprobe to run: $NFPROBE, the one `make install` put beside this
    package, or nfprobe on PATH."""
    explicit = os.environ.get("NFPROBE")
    if explicit:
        return explicit
    if _install.BINDIR and os.access(os.path.join(_install.BINDIR, "nfprobe"), os.X_OK):
        return os.path.join(_install.BINDIR, "nfprobe")
    found = shutil.which("nfprobe")
    if not found:
        raise RuntimeError("nfprobe (the command) not found: install it (make install, or the nfprobe "
                           "Debian package) or set NFPROBE=/path/to/nfprobe")
    return found


def _has_option(option):
    path = binary()
    if path not in _help_cache:
        out = subprocess.run([path, "--help"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        _help_cache[path] = out.stdout.decode(errors="replace")
    return option in _help_cache[path]


def no_decode_tunnels_option():
    """decode_tunnels=False: nfprobe's --no-decode-tunnels where it has the
    option; an nfprobe without it decodes no tunnel (it meters the outer
    flow), which is what decode_tunnels=False asks for."""
    return ["--no-decode-tunnels"] if _has_option("--no-decode-tunnels") else []


class Run(object):
    """One nfprobe process. command(events_fd) gives its argv."""

    def __init__(self, command, with_events=False, stderr_to_user=False):
        self.errors = None if stderr_to_user else tempfile.TemporaryFile()
        self.events_fd = None
        pass_fds = ()
        if with_events:
            self.events_fd, write_fd = os.pipe()
            pass_fds = (write_fd,)
        argv = command(pass_fds[0] if pass_fds else None)
        try:
            self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                         stderr=self.errors, pass_fds=pass_fds,
                                         bufsize=0 if with_events else READ_CHUNK)
        finally:
            for fd in pass_fds:
                os.close(fd)
        self.records_seen = 0
        self.done = False

    def records(self):
        """The JSON records, one dict each, as nfprobe writes them."""
        for line in self.proc.stdout:
            self.records_seen += 1
            yield json.loads(line)
        self._finish()

    def records_and_events(self, feed, ready):
        """Records and events together: events go to feed(bytes) as they
        arrive; a record is yielded once ready(its event_key). Both pipes are
        read as they fill, so neither side of nfprobe can block the other."""
        sel = selectors.DefaultSelector()
        out = self.proc.stdout.fileno()
        sel.register(out, selectors.EVENT_READ)
        sel.register(self.events_fd, selectors.EVENT_READ)
        pending, partial, open_fds = collections.deque(), b"", 2
        while open_fds:
            for key, _ in sel.select():
                data = os.read(key.fd, READ_CHUNK)
                if not data:
                    sel.unregister(key.fd)
                    open_fds -= 1
                elif key.fd == out:
                    lines = (partial + data).split(b"\n")
                    partial = lines.pop()
                    pending.extend(json.loads(line) for line in lines)
                else:
                    feed(data)
            while pending and ready(pending[0]["event_key"]):
                self.records_seen += 1
                yield pending.popleft()
        sel.close()
        if pending:
            raise RuntimeError("nfprobe: %d flow records came without their packet events (the events "
                               "pipe broke)" % len(pending))
        self._finish()

    def _message(self):
        if self.errors is None:
            return "see the messages above"
        self.errors.seek(0)
        text = self.errors.read().decode(errors="replace").strip()
        return text or "no message"

    def _finish(self):
        rc = self.proc.wait()
        self.done = True
        if rc == 0:
            return
        msg = "nfprobe exited with status %d: %s" % (rc, self._message())
        if rc == 2 or self.records_seen == 0:
            raise ValueError(msg)
        # A capture cut short or a damaged record: the flows read are real.
        warnings.warn(msg, RuntimeWarning, stacklevel=3)

    def close(self):
        """End the run (also when the iteration stops early: nfprobe is
        told to stop and its remaining output dropped)."""
        if not self.done and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.stdout.close()
        except OSError:
            pass
        if self.events_fd is not None:
            os.close(self.events_fd)
            self.events_fd = None
        self.proc.wait()
        if self.errors is not None:
            self.errors.close()
