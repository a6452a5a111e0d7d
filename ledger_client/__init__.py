"""CIE Ledger client: chain connection, keystores, deployment, the document pipeline."""
