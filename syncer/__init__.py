"""syncer: keep a Caseware Cloud firm in step with a SQL database."""
