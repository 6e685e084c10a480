"""Many runs: parameter sweeps, studies with one HTML report, and the validation suite.

- :mod:`~ecmsim.studies.sweep`: ``ecmsim sweep`` (a grid of runs, resumable).
- :mod:`~ecmsim.studies.study`: ``ecmsim study`` (named runs of several scenarios, one report.html).
- :mod:`~ecmsim.studies.validate`, :mod:`~ecmsim.studies.checks`: ``ecmsim validate`` and its cases.
- :mod:`~ecmsim.studies.report_html`: ``ecmsim report`` (self-contained HTML pages).
"""
