"""Children of objects (entities' addresses): which parents to read, and what syncer remembers.

Children are read one request per parent, so a nightly run reads only the parents whose desired
children changed since they were last seen in step, or whose Cloud state syncer does not know
(``scope``); ``marks`` keeps that memory in the database.
"""
