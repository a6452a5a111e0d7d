"""The devnet's embedded IPFS nodes: real Kubo (libkubo) behind the Kubo RPC subset.

`EmbeddedIpfsNode` starts one node as a child process (`python -m devnet.ipfs`);
the modules below own the pieces: `libkubo` (the C boundary), `repo` (the
loopback-only config and the blockstore on disk), `kubo_node` (operations with
deadlines, multi-file adds as one pinned directory), `rpc_server` (the HTTP
API) and `unixfs_layout` (add's `Size`, the CIDs of single-chunk files).
"""

from devnet.ipfs.process import EmbeddedIpfsNode, connect_nodes

__all__ = ["EmbeddedIpfsNode", "connect_nodes"]
