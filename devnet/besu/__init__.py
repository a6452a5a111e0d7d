"""Consortium deployment configs: Hyperledger Besu (QBFT) and Kubo daemons (see README.md)."""
