"""Many runs: parameter sweeps, studies with one HTML report, and the validation suite.

- :mod:`~ecmsim.studies.sweep`: ``ecmsim sweep`` (a grid of runs, resumable).
- :mod:`~ecmsim.studies.study`: ``ecmsim study`` (named runs of several scenarios, one report.html);
  :mod:`~ecmsim.studies.study_verdicts`: its verdicts, measured points and validity warnings.
- :mod:`~ecmsim.studies.validate`: ``ecmsim validate``; :mod:`~ecmsim.studies.cases` (case files,
  classes, declared inputs), :mod:`~ecmsim.studies.checks` (check functions and the runs they
  declare), :mod:`~ecmsim.studies.verdicts` (runs, context, judging), :mod:`~ecmsim.studies.uq`
  (uncertainty bands), :mod:`~ecmsim.studies.validation_report` (report.md, report.json).
- :mod:`~ecmsim.studies.report_html`: ``ecmsim report`` (self-contained HTML pages).
"""
