"""``syncer probe``: a read-only check of a real firm against every ``[cloud.api]`` assumption.

Public API::

    from syncer.probe import run_probe, ProbeReport, Verdict

    report = await run_probe(settings.cloud)
    report.checks          # one Check per id: expected, observed, verdict, advice
    report.settings()      # the keys (dotted under ``cloud``) that make syncer fit the firm
"""

from syncer.probe.report import Check, ProbeReport, Verdict
from syncer.probe.run import run_probe

__all__ = ["Check", "ProbeReport", "Verdict", "run_probe"]
