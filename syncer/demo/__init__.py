"""``syncer demo``: a believable firm, the in-process simulator and the real use cases."""
