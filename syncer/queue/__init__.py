"""Many firms on many machines: firm runs as jobs of a procrastinate queue on PostgreSQL.

``syncer queue`` defers jobs; ``syncer worker`` processes run them, any number of them on any
number of machines, all sharing syncer's PostgreSQL database. procrastinate provides the queue,
the per-firm lock (a job's ``lock``: one running job per firm), queueing locks, periodic jobs and
worker heartbeats; this package adds what syncer needs on top: which firm a job runs and how its
outcome is recorded (``outcomes``), recovery of the jobs of workers that died (``recovery``),
and the one adapter to the firm use case (``runner``).
"""
