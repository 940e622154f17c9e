"""Apply: carry a Plan out against Cloud, journaled, resumable, never creating anything twice.

The pieces each have one job: ``lock`` keeps one run per firm, ``journal`` records intent before
a request and results after it, ``recovery`` settles what a dead run left open, ``retry`` holds
back keys that keep failing, ``guard`` stops a run that mostly fails, ``scheduler`` runs
independent work in parallel in dependency order, ``operations`` turns a change into requests,
and ``engine`` puts them together.
"""
