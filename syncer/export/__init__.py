"""``syncer export``: Cloud's current state as the CSV files ``syncer load`` reads."""
