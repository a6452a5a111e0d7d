"""The embedded single-machine network: anvil chain, IPFS nodes, member nodes."""
