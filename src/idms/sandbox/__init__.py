"""The sandbox: the iMIS REST API served over the embedded store (docs/sandbox.md)."""
